"""Talking to phones: one adb session wrapper, selection, info, cores, thermal, binary, files.

Everything here goes through `harness.device.session.DeviceSession`; nothing in
this package knows about the simulated device.
"""
