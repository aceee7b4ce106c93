"""Preflight answers and core masks without a topology (no device needed)."""

from __future__ import annotations

import pytest

from harness.device.cores import unverified_selection
from harness.device.preflight import parse_preflight
from harness.errors import DeviceError
from harness.identity import DeviceInfo
from harness.stages.resume import identity_differences

FULL = (
    "tool.taskset=yes\ntool.sha256sum=yes\ntool.mkfifo=yes\ntool.setsid=yes\ntool.nproc=yes\n"
    "shell=yes\n"
    "sysfs=yes\nncpu=8\n"
)


def test_a_complete_phone_has_no_problem_and_no_warning() -> None:
    found = parse_preflight(FULL)
    assert found.problems() == [] and found.warnings == []
    assert found.sysfs and found.ncpu == 8


def test_each_gap_is_one_line() -> None:
    found = parse_preflight(
        FULL.replace("tool.taskset=yes", "tool.taskset=no")
        .replace("shell=yes", "shell=no")
        .replace("tool.setsid=yes", "tool.setsid=no")
        .replace("sysfs=yes", "sysfs=no")
    )
    problems = found.problems()
    assert len(problems) == 2
    assert "no `taskset`" in problems[0] and "POSIX feature" in problems[1]
    assert len(found.warnings) == 2
    assert "setsid" in found.warnings[0] and "not readable" in found.warnings[1]


def test_an_empty_answer_is_not_taken_for_a_working_phone() -> None:
    found = parse_preflight("")
    assert len(found.problems()) == 4 and found.ncpu is None


def test_masks_without_a_topology() -> None:
    every = unverified_selection("all", 4)
    assert (every.mask, every.cpus) == ("f", (0, 1, 2, 3))
    assert not every.verified and "not verified" in str(every.reason)
    given = unverified_selection("0xC0", None)
    assert (given.mask, given.cpus) == ("c0", (6, 7))
    for named in ("big", "prime", "little"):
        with pytest.raises(DeviceError, match="needs the CPU topology") as info:
            unverified_selection(named, 8)
        assert info.value.exit_code == 3
    with pytest.raises(DeviceError, match="cannot count the CPUs"):
        unverified_selection("all", None)


def test_identity_differences_name_each_field_and_skip_unknowns() -> None:
    then = DeviceInfo.from_dict(
        {"model": "Pixel", "platform": "msm8996", "abi": "arm64-v8a", "fingerprint": None}
    )
    now = DeviceInfo("S", "device", model="Pixel 4", platform="sm8150", abi="arm64-v8a")
    assert identity_differences(then, now, "aa" * 32, "aa" * 32) == [
        "model 'Pixel' -> 'Pixel 4'",
        "platform 'msm8996' -> 'sm8150'",
    ]
    assert identity_differences(then, then, "a" * 64, "b" * 64) == [
        "benchmark binary sha256 aaaaaaaaaaaa -> bbbbbbbbbbbb"
    ]
