"""DeviceSession through the real adb server and the simulated Pixel 1."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.device.files import WORKDIR, push_many
from harness.device.quote import sh_quote
from harness.device.select import connect
from harness.device.servers import make_client
from harness.device.session import OPEN_ATTEMPTS, RETRY_DELAY_S, DeviceSession
from harness.errors import (
    DeviceCommandError,
    DeviceOfflineError,
    DeviceTimeoutError,
    TransferError,
)
from harness.sim import SimDevice

pytestmark = [pytest.mark.integration, pytest.mark.adb_protocol]


def _session(sim: SimDevice, **kwargs: bool) -> DeviceSession:
    return DeviceSession(make_client(), sim.serial, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("v2", [True, False], ids=["shell_v2", "marker"])
def test_exit_codes_and_streams(sim: SimDevice, v2: bool) -> None:
    session = _session(sim, shell_v2=v2)
    result = session.shell("echo out; echo err >&2; exit 7", timeout_s=10, check=False)
    assert result.exit_code == 7
    if v2:
        assert (result.stdout, result.stderr) == ("out\n", "err\n")
    else:  # the legacy service merges the streams
        assert "out" in result.stdout and "err" in result.stdout
    assert session.shell(["true"], timeout_s=10).exit_code == 0
    with pytest.raises(DeviceCommandError) as info:
        session.shell(["ls", "/no/such/path"], timeout_s=10)
    assert info.value.device_exit_code != 0
    assert info.value.serial == sim.serial
    assert "ls /no/such/path" in (info.value.command or "")


@pytest.mark.parametrize("v2", [True, False], ids=["shell_v2", "marker"])
def test_hostile_words_reach_the_device_as_data(sim: SimDevice, v2: bool) -> None:
    session = _session(sim, shell_v2=v2)
    words = ["a b", "it's", '"q"', "$(echo pwned)", "`id`", "x;y", "*", "back\\slash", ""]
    out = session.shell(["printf", "%s\\n", *words], timeout_s=10).stdout
    assert out.split("\n")[:-1] == words


@pytest.mark.timeout(120)  # a hang guard only: a session that ignored its timeout never returns
def test_hanging_command_raises_timeout_at_its_deadline(sim: SimDevice) -> None:
    # The command never prints or exits on the device, so only the session's own
    # timeout can end the call; it must not give up before that deadline either.
    sim.faults.hang_commands(r"sleep 1234")
    session = _session(sim)
    started = time.monotonic()
    with pytest.raises(DeviceTimeoutError) as info:
        session.shell("sleep 1234", timeout_s=1.5)
    assert time.monotonic() - started >= 1.5
    assert info.value.serial == sim.serial
    assert "sleep 1234" in (info.value.command or "")
    sim.faults.clear_hangs()
    assert session.shell(["echo", "after"], timeout_s=30).stdout == "after\n"


@pytest.mark.timeout(120)  # a hang guard only
@pytest.mark.parametrize("v2", [True, False], ids=["shell_v2", "marker"])
def test_a_call_silent_for_its_idle_bound_times_out_long_before_its_deadline(
    sim: SimDevice, v2: bool
) -> None:
    """idle_s bounds the silence, not the call: a command that says something now and
    then may run on; one that goes quiet fails as silent, not at its deadline."""
    session = _session(sim, shell_v2=v2)
    chatty = "i=0; while [ $i -lt 5 ]; do echo .; sleep 0.1; i=$((i+1)); done"
    assert session.shell(chatty, timeout_s=60, idle_s=30).stdout == ".\n" * 5
    with pytest.raises(DeviceTimeoutError, match=r"no output for 1 s: echo \.; sleep 300"):
        session.shell("echo .; sleep 300", timeout_s=600, idle_s=1)
    assert session.shell(["echo", "after"], timeout_s=30).stdout == "after\n"


def test_disconnect_midway_raises_offline(sim: SimDevice) -> None:
    # The command would run for 20 minutes and its timeout is far away, so an offline
    # error (not a timeout) can only come from the cut noticed mid-command.
    session = _session(sim)
    session.shell(["true"], timeout_s=10)
    sim.faults.drop_at(0.5)
    with pytest.raises(DeviceOfflineError) as info:
        session.shell("sleep 1234; echo done", timeout_s=120)
    assert info.value.serial == sim.serial


def test_push_is_skipped_when_unchanged_and_verified(sim: SimDevice, tmp_path: Path) -> None:
    session = _session(sim)
    src = tmp_path / "model.tflite"
    src.write_bytes(bytes(range(256)) * 4000)
    first = push_many(session, [(src, "models/model.tflite")])
    assert first[0].pushed and first[0].remote == f"{WORKDIR}/models/model.tflite"
    trips = session.round_trips
    second = push_many(session, [(src, "models/model.tflite")])
    assert not second[0].pushed
    assert session.round_trips - trips == 1  # one hash check, no transfer
    assert session.sha256(second[0].remote) == second[0].sha256
    src.write_bytes(b"changed")
    assert push_many(session, [(src, "models/model.tflite")])[0].pushed
    changed = hashlib.sha256(b"changed").hexdigest()
    assert session.sha256(f"{WORKDIR}/models/model.tflite") == changed


def test_a_known_sha256_is_used_instead_of_hashing_and_checked_after_a_push(
    sim: SimDevice, tmp_path: Path
) -> None:
    """The model cache's digest stands for its file: a device holding that digest gets no
    push (the local bytes are not hashed again), and a local file that no longer matches
    its record is refused by the check after its push, never trusted."""
    session = _session(sim)
    src = tmp_path / "model.tflite"
    src.write_bytes(b"m" * 5000)
    recorded = hashlib.sha256(b"m" * 5000).hexdigest()
    [first] = push_many(session, [(src, "models/known.tflite")], known_sha256={})
    assert first.pushed and first.sha256 == recorded
    src.write_bytes(b"n" * 5000)  # the local file changed, its record did not
    known = {"models/known.tflite": recorded}
    [again] = push_many(session, [(src, "models/known.tflite")], known_sha256=known)
    # Had it hashed the local bytes, they would differ from the device's and it would push.
    assert not again.pushed and again.sha256 == recorded
    assert session.sha256(again.remote) == recorded
    with pytest.raises(TransferError, match="does not match"):
        push_many(
            session, [(src, "models/other.tflite")], known_sha256={"models/other.tflite": recorded}
        )


def test_recorded_hash_is_not_trusted_once_the_device_file_changes(
    sim: SimDevice, tmp_path: Path
) -> None:
    """The quick check (recorded sha256 + size + time) notices a same-size rewrite."""
    session = _session(sim)
    src = tmp_path / "model.tflite"
    src.write_bytes(b"a" * 1000)
    [first] = push_many(session, [(src, "models/same-size.tflite")])
    assert first.pushed
    # Rewrite it on the device with other bytes of the same length.
    session.shell(f"printf '%1000s' x > {sh_quote(first.remote)}", timeout_s=10)
    assert session.sha256(first.remote) != first.sha256
    [again] = push_many(session, [(src, "models/same-size.tflite")])
    assert again.pushed
    assert session.sha256(first.remote) == first.sha256


def test_hostile_file_name_is_pushed_and_read_as_a_plain_name(
    sim: SimDevice, tmp_path: Path
) -> None:
    session = _session(sim)
    name = "my model 'v2' \"q\" $(touch pwned).tflite"
    src = tmp_path / "plain.tflite"
    src.write_bytes(b"tflite-bytes")
    [pushed] = push_many(session, [(src, f"models/{name}")])
    remote = pushed.remote
    assert remote.endswith(name)
    assert session.exists(remote)
    assert session.shell(["cat", remote], timeout_s=10).stdout == "tflite-bytes"
    assert not session.exists(f"{WORKDIR}/models/pwned")
    assert not (sim.root / "pwned").exists()


def test_failed_push_is_a_transfer_error(sim: SimDevice, tmp_path: Path) -> None:
    session = _session(sim)
    sim.faults.fail_pushes(after_bytes=100)
    src = tmp_path / "big.bin"
    src.write_bytes(b"x" * 200_000)
    with pytest.raises(TransferError):
        push_many(session, [(src, "big.bin")])


def test_pull_roundtrip(sim: SimDevice, tmp_path: Path) -> None:
    session = _session(sim)
    session.shell(f"mkdir -p {WORKDIR} && echo hello > {WORKDIR}/hello.txt", timeout_s=10)
    dest = tmp_path / "hello.txt"
    session.pull(f"{WORKDIR}/hello.txt", dest, timeout_s=10)
    assert dest.read_text() == "hello\n"
    with pytest.raises(TransferError):
        session.pull(f"{WORKDIR}/absent.txt", tmp_path / "absent.txt", timeout_s=10)
    assert not (tmp_path / "absent.txt").exists()


def test_connect_by_serial_returns_a_working_session(
    make_sim: Callable[..., SimDevice],
) -> None:
    sim = make_sim()
    [session] = connect([sim.serial])
    assert session.serial == sim.serial
    assert "shell_v2" in session.features


def test_offline_device_is_retried_a_bounded_number_of_times(
    sim: SimDevice, adb_server: object, caplog: pytest.LogCaptureFixture
) -> None:
    session = _session(sim)
    session.shell(["true"], timeout_s=10)
    sim.faults.go_offline(30.0)
    adb_server.wait_state(sim.serial, "offline")  # type: ignore[attr-defined]
    caplog.set_level("DEBUG", logger="harness.device.session")
    started = time.monotonic()
    trips = session.round_trips
    with pytest.raises(DeviceOfflineError):
        session.shell(["true"], timeout_s=20)
    assert session.round_trips - trips == OPEN_ATTEMPTS
    # It waited between its attempts (a lower bound: a busy host only adds to it).
    assert time.monotonic() - started >= (OPEN_ATTEMPTS - 1) * RETRY_DELAY_S
    assert sum("retrying" in r.message for r in caplog.records) == OPEN_ATTEMPTS - 1


def test_many_files_are_hash_checked_in_few_small_calls(sim: SimDevice, tmp_path: Path) -> None:
    session = _session(sim)
    items = []
    for i in range(60):
        path = tmp_path / f"mobilenet_v2_variant_{i:02d}_with_a_long_name.tflite"
        path.write_bytes(i.to_bytes(2, "little") * 50)
        items.append((path, f"models/{path.name}"))
    assert all(o.pushed for o in push_many(session, items))
    trips = session.round_trips
    assert not any(o.pushed for o in push_many(session, items))
    # 60 long names do not fit one 4 KiB command, but need far fewer than 60 calls.
    assert 2 <= session.round_trips - trips <= 6
