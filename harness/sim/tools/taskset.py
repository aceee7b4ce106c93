"""taskset for the simulated device (toybox syntax: taskset [-ap] [mask] [PID | cmd [args...]]).

The mask names DEVICE cpus; they are translated to the host CPUs they map onto
(state/topology.json) and applied with sched_setaffinity, so pinning is real.
Every change is appended to state/affinity.jsonl with the affinity read back
from the kernel, so tests can prove what happened. Standalone: stdlib only,
because it is copied into the device image and run with `python -I -S`.
"""

from __future__ import annotations

import json
import os
import sys
import time

STATE = os.environ.get("HARNESS_SIM_STATE", "/dev/.harness-sim")
USAGE = "usage: taskset [-ap] [mask] [PID | cmd [args...]]"


def fail(message: str, code: int = 1) -> int:
    sys.stderr.write(f"taskset: {message}\n")
    return code


def load_map() -> tuple[dict[int, int], set[int]]:
    """Device cpu -> host cpu, and the set of online device cpus."""
    with open(os.path.join(STATE, "topology.json")) as fh:
        topo = json.load(fh)
    mapping = {int(k): int(v) for k, v in topo["host_map"].items()}
    offline = {cpu for c in topo["clusters"] for cpu in c.get("offline", [])}
    return mapping, set(mapping) - offline


def device_cpus_of(mask: int) -> list[int]:
    return [bit for bit in range(mask.bit_length()) if mask >> bit & 1]


def to_mask(cpus: list[int] | set[int]) -> int:
    return sum(1 << c for c in cpus)


def record(pid: int, argv: list[str], mask: int, device: list[int], host: list[int]) -> None:
    line = json.dumps(
        {
            "pid": pid,
            "argv": argv,
            "device_mask": f"{mask:x}",
            "device_cpus": device,
            "host_cpus": host,
            "time": time.time(),
        }
    )
    # One O_APPEND write per record: concurrent tasksets never interleave lines.
    fd = os.open(
        os.path.join(STATE, "affinity.jsonl"), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666
    )
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


def apply(pid: int, mask: int, argv: list[str]) -> int | None:
    """Pin pid (0 = self) to the device cpus in mask; None on success, else an exit code."""
    mapping, online = load_map()
    device = sorted(set(device_cpus_of(mask)) & online)
    if not device:
        return fail("sched_setaffinity: Invalid argument")
    host = sorted({mapping[c] for c in device})
    try:
        os.sched_setaffinity(pid, host)
        actual = sorted(os.sched_getaffinity(pid))
    except OSError as exc:
        return fail(f"sched_setaffinity: {exc.strerror}")
    record(pid or os.getpid(), argv, mask, device, actual)
    return None


def pinned_mask(pid: int, host: set[int]) -> int | None:
    """The device mask this tool last gave pid, if the kernel still holds its host CPUs.

    Several device cpus share one host cpu, so the host affinity alone cannot
    tell mask 0x40 from 0xc0; the record written when pinning can.
    """
    found: int | None = None
    try:
        with open(os.path.join(STATE, "affinity.jsonl")) as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue
                if rec.get("pid") == pid:
                    same = set(rec.get("host_cpus", ())) == host
                    found = int(rec["device_mask"], 16) if same else None
    except OSError:
        return None
    return found


def current_mask(pid: int) -> int:
    """pid's affinity in DEVICE cpus, as a phone's taskset -p reports it."""
    mapping, online = load_map()
    host = os.sched_getaffinity(pid)
    pinned = pinned_mask(pid or os.getpid(), host)
    if pinned is not None:
        return pinned & to_mask(online)
    return to_mask({d for d in online if mapping[d] in host})


def parse_mask(text: str) -> int | None:
    try:
        value = int(text[2:] if text.lower().startswith("0x") else text, 16)
    except ValueError:
        return None
    return value if value > 0 else None


def main(args: list[str]) -> int:
    pid_mode = False
    while args and args[0].startswith("-") and len(args[0]) > 1:
        opt = args.pop(0)
        if opt == "--":
            break
        for ch in opt[1:]:
            if ch == "p":
                pid_mode = True
            elif ch != "a":  # -a (all threads) is what sched_setaffinity on a pid does here
                return fail(f"Unknown option '{ch}'\n{USAGE}")
    if pid_mode:
        if len(args) not in (1, 2):
            return fail(f"Needs 1 or 2 arguments\n{USAGE}")
        try:
            pid = int(args[-1])
        except ValueError:
            return fail(f"bad pid '{args[-1]}'")
        try:
            before = current_mask(pid)
        except OSError as exc:
            return fail(f"sched_getaffinity: {exc.strerror}")
        print(f"pid {pid}'s current affinity mask: {before:x}")
        if len(args) == 2:
            mask = parse_mask(args[0])
            if mask is None:
                return fail(f"bad mask '{args[0]}'")
            code = apply(pid, mask, [f"pid:{pid}"])
            if code is not None:
                return code
            print(f"pid {pid}'s new affinity mask: {current_mask(pid):x}")
        return 0
    if len(args) < 2:
        return fail(f"Needs 2 arguments\n{USAGE}")
    mask = parse_mask(args[0])
    if mask is None:
        return fail(f"bad mask '{args[0]}'")
    code = apply(0, mask, args[1:])
    if code is not None:
        return code
    try:
        os.execvp(args[1], args[1:])
    except OSError as exc:
        return fail(
            f"exec {args[1]}: {exc.strerror}", 127 if isinstance(exc, FileNotFoundError) else 126
        )
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
