"""Leases on the phone itself, so two runs (from any host, through any adb server)
never measure on one phone at once.

A lease is the folder `LEASE_DIR` on the device. `mkdir` is atomic (toybox
`mkdir` is one mkdir(2) and fails with EEXIST when the folder exists), so of
two runs racing for a phone exactly one creates it. The folder holds `owner`
(key=value lines: token, host, pid, run, since) and `heartbeat` (the device's
`date +%s`), which the holder rewrites every `HEARTBEAT_EVERY_S`. Every time
compared is the device's own clock, so host clocks in a lab need not agree.

A lease whose heartbeat is older than `STALE_AFTER_S` is stale (its run died
or lost the phone for longer than a reconnect). It is broken under a second
atomic `mkdir` (`LEASE_DIR/break`) inside the very lease that was judged
stale, after checking that its token is still the one read: two breakers
cannot both win, and a fresh lease is never broken.

Taking a lease is a device call like any other: a drop in the middle of it is
ridden out as preparation rides one out (`harness.device.reconnect`, up to the
run's reconnect timeout): wait for the phone and ask again. Asking again is
safe: a lease that the first ask did take carries this run's token, and is ours.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.device.kv import device_lines, digits
from harness.device.quote import sh_quote
from harness.device.reconnect import with_reconnect
from harness.device.session import DeviceSession
from harness.errors import DeviceBusyError, DeviceError, HarnessError

log = logging.getLogger(__name__)

# Outside harness/ (files.WORKDIR), so `harness clean` of the work folder
# never removes a lease a running job holds.
LEASE_DIR = "/data/local/tmp/harness-lease"
HEARTBEAT_EVERY_S = 5.0
# 24 missed heartbeats: longer than a USB replug or an adb server restart,
# short enough that a crashed CI job frees its phone within minutes.
STALE_AFTER_S = 120
LEASE_CALL_TIMEOUT_S = 15.0
# How often a run waiting for a busy phone (--wait-for-device) looks again.
WAIT_POLL_S = 1.0


@dataclass(frozen=True)
class Holder:
    """Who holds a phone's lease, as read from the device."""

    token: str
    host: str
    pid: str
    run: str
    since: int | None  # device epoch seconds
    heartbeat: int | None
    now: int | None  # the device's clock when read

    @property
    def age_s(self) -> int | None:
        """Seconds since the last heartbeat (device clock), or None when unknown."""
        if self.now is None or self.heartbeat is None:
            return None
        return self.now - self.heartbeat

    @property
    def stale(self) -> bool:
        age = self.age_s
        return age is not None and age > STALE_AFTER_S

    def describe(self) -> str:
        since = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.since)) if self.since else "?"
        age = self.age_s
        beat = f", heartbeat {age} s ago" if age is not None else ""
        return f"host {self.host} pid {self.pid} run {self.run} since {since}{beat}"


def _parse_holder(text: str) -> Holder:
    kv: dict[str, str] = {}
    for line in device_lines(text):
        key, sep, value = line.strip().partition("=")
        if sep:
            kv[key] = value

    def num(key: str) -> int | None:
        value = kv.get(key, "")
        return int(value) if digits(value.lstrip("-")) else None

    # A lease caught between its mkdir and its first heartbeat ages from the
    # folder's own modification time.
    beat = num("heartbeat")
    return Holder(
        kv.get("token", "?"),
        kv.get("host", "?"),
        kv.get("pid", "?"),
        kv.get("run", "?"),
        num("since"),
        beat if beat is not None else num("created"),
        num("now"),
    )


_READ = (
    'cat "$L/owner" 2>/dev/null; echo; echo "heartbeat=$(cat "$L/heartbeat" 2>/dev/null)"; '
    'echo "created=$(stat -c %Y "$L" 2>/dev/null)"; echo "now=$(date +%s)"'
)


# Sets `t` to the lease owner's token ("" when unreadable) with shell builtins only:
# every lease call that checks whose lease it is reads it this way.
_OWNER_TOKEN = (
    "t=; while IFS= read -r l; do case $l in token=*) t=${l#token=} ;; esac; "
    'done 2>/dev/null <"$L/owner"; '
)


def read_holder(session: DeviceSession) -> Holder | None:
    """The phone's lease holder, or None when the phone is free."""
    script = f'L={sh_quote(LEASE_DIR)}; if [ -d "$L" ]; then echo held; {_READ}; fi'
    out = session.shell(script, timeout_s=LEASE_CALL_TIMEOUT_S).stdout
    if not out.startswith("held"):
        return None
    return _parse_holder(out)


@dataclass(frozen=True)
class Owner:
    """What a run writes into its lease."""

    run: str
    host: str
    pid: int
    token: str

    @staticmethod
    def new(run: str) -> Owner:
        """This process as owner; the token tells our lease from a later one."""
        return Owner(
            run=run, host=socket.gethostname(), pid=os.getpid(), token=secrets.token_hex(8)
        )


def try_take(session: DeviceSession, owner: Owner) -> Holder | None:
    """Take the lease in one round trip; None when taken, else the current holder."""
    lines = [f"token={owner.token}", f"host={owner.host}", f"pid={owner.pid}", f"run={owner.run}"]
    fields = " ".join(sh_quote(line) for line in lines)
    script = (
        f"L={sh_quote(LEASE_DIR)}; "
        'if mkdir "$L" 2>/dev/null; then date +%s > "$L/heartbeat"; '
        f'printf \'%s\\n\' {fields} "since=$(date +%s)" > "$L/owner.tmp" && '
        'mv "$L/owner.tmp" "$L/owner" && echo taken; '
        f"else echo held; {_READ}; fi"
    )
    out = session.shell(script, timeout_s=LEASE_CALL_TIMEOUT_S).stdout
    if out.startswith("taken"):
        return None
    if not out.startswith("held"):
        raise DeviceError(
            f"cannot create the lease {LEASE_DIR}: {out.strip()[-200:]}",
            serial=session.serial,
            hint="the device needs a writable /data/local/tmp",
        )
    return _parse_holder(out)


def break_stale(
    session: DeviceSession, holder: Holder, *, stale_after_s: int = STALE_AFTER_S
) -> bool:
    """Remove the lease `holder` left, if it is still that lease and still stale.

    True when this call broke it; False when another breaker won or the
    holder came back. The `break` folder makes the check-and-remove one
    winner's job. `stale_after_s=-1` takes over a lease regardless of age
    (this run's own, left by its dead process; see `acquire`).
    """
    script = (
        f"L={sh_quote(LEASE_DIR)}; T={sh_quote(holder.token)}; "
        'mkdir "$L/break" 2>/dev/null || { echo lost; exit 0; }; '
        f"{_OWNER_TOKEN}"
        'hb=$(cat "$L/heartbeat" 2>/dev/null); now=$(date +%s); '
        f'if [ "$t" = "$T" ] && [ $((now - ${{hb:-0}})) -gt {int(stale_after_s)} ]; then '
        'rm -rf "$L" && echo broken; else rmdir "$L/break"; echo lost; fi'
    )
    out = session.shell(script, timeout_s=LEASE_CALL_TIMEOUT_S).stdout
    return out.startswith("broken")


def release(session: DeviceSession, token: str | None) -> bool:
    """Remove the lease if `token` holds it (None: whoever holds it, for `clean --force`)."""
    check = (
        ""
        if token is None
        else (f'{_OWNER_TOKEN}[ "$t" = {sh_quote(token)} ] || {{ echo other; exit 0; }}; ')
    )
    script = (
        f'L={sh_quote(LEASE_DIR)}; [ -d "$L" ] || {{ echo none; exit 0; }}; {check}'
        'rm -rf "$L" && echo released'
    )
    out = session.shell(script, timeout_s=LEASE_CALL_TIMEOUT_S).stdout
    return out.startswith("released")


def heartbeat(session: DeviceSession, token: str) -> bool:
    """Refresh the heartbeat; False when the lease is no longer ours (it was broken).

    It comes every HEARTBEAT_EVERY_S, so mostly while a trial runs: the owner file
    is read and the time taken with shell builtins (mksh's EPOCHREALTIME; `date`
    where the shell has none), so the phone starts one process (`mv`, for a
    heartbeat file never seen half-written), not four.
    """
    script = (
        f"L={sh_quote(LEASE_DIR)}; {_OWNER_TOKEN}"
        f'[ "$t" = {sh_quote(token)} ] || {{ echo lost; exit 0; }}; '
        'n=${EPOCHREALTIME%%.*}; [ -n "$n" ] || n=$(date +%s); '
        'echo "$n" > "$L/heartbeat.tmp" && mv "$L/heartbeat.tmp" "$L/heartbeat" && echo ok'
    )
    return session.shell(script, timeout_s=LEASE_CALL_TIMEOUT_S).stdout.startswith("ok")


def acquire(
    session: DeviceSession,
    owner: Owner,
    *,
    emit: Callable[[str], None],
    reconnect_timeout_s: float | None = None,
) -> Holder | None:
    """One attempt: take the lease, breaking a stale one; the live holder when busy.

    With `reconnect_timeout_s`, a drop during it waits that long for the phone and
    asks again (`with_reconnect`); without, it raises at once.
    """
    if reconnect_timeout_s is None:
        return _acquire(session, owner, emit)
    return with_reconnect(
        session,
        "lease",
        lambda: _acquire(session, owner, emit),
        reconnect_timeout_s=reconnect_timeout_s,
        on_event=emit,
    )


def _acquire(session: DeviceSession, owner: Owner, emit: Callable[[str], None]) -> Holder | None:
    for _ in range(3):  # a broken lease may be retaken by someone else first
        holder = try_take(session, owner)
        if holder is None or holder.token == owner.token:
            # Ours: taken now, or by an ask whose answer a drop cut off.
            return None
        if _own_orphan(holder, owner):
            # A resume finds the lease its run's earlier process could not release
            # (the phone was gone): that process is dead, the lease is ours to take.
            if break_stale(session, holder, stale_after_s=-1):
                emit(
                    f"{session.serial}: took over this run's lease from its ended process "
                    f"(pid {holder.pid})"
                )
            continue
        if not holder.stale:
            return holder
        if break_stale(session, holder):
            emit(
                f"warning: {session.serial}: broke a stale lease ({holder.describe()}; "
                f"stale after {STALE_AFTER_S} s)"
            )
    return read_holder(session)


def _own_orphan(holder: Holder, owner: Owner) -> bool:
    """The lease names this very run, taken on this host by a process that has ended."""
    if holder.run != owner.run or holder.host != owner.host or not digits(holder.pid):
        return False
    try:
        os.kill(int(holder.pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Lease:
    """A held lease with its heartbeat thread; `close()` stops it and releases."""

    def __init__(
        self, session: DeviceSession, owner: Owner, target: DeviceSession | None = None
    ) -> None:
        self.session = session  # the lease's own session (heartbeat, release)
        self.target = target or session  # the run's session on the same phone
        self.owner = owner
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, daemon=True, name=f"lease-{session.serial}"
        )
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY_S):
            try:
                if not heartbeat(self.session, self.owner.token):
                    log.warning("%s: our lease was broken by another run", self.session.serial)
                    return
            except HarnessError as exc:  # the phone is away: the run's own logic decides
                log.debug("%s: heartbeat failed: %s", self.session.serial, exc)

    def name_run(self, run_id: str) -> None:
        """Put the run id (known once the run folder exists) into the owner file."""
        token = sh_quote(self.owner.token)
        script = (
            (
                f"L={sh_quote(LEASE_DIR)}; {_OWNER_TOKEN}"
                f'[ "$t" = {token} ]'
                f' && sed "s/^run=.*/run={run_id}/" "$L/owner" > "$L/owner.tmp" && '
                'mv "$L/owner.tmp" "$L/owner"'
            )
            if _plain_run_id(run_id)
            else ""
        )
        if script:
            with contextlib.suppress(HarnessError):
                self.session.shell(script, timeout_s=LEASE_CALL_TIMEOUT_S, check=False)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(LEASE_CALL_TIMEOUT_S)
        try:
            release(self.session, self.owner.token)
        except HarnessError as exc:  # it goes stale and is broken later, with a warning
            log.warning(
                "%s: lease not released (%s); it goes stale after %d s",
                self.session.serial,
                exc,
                STALE_AFTER_S,
            )


def _plain_run_id(run_id: str) -> bool:
    # The run id lands inside a sed expression: only plain run-id characters.
    return bool(run_id) and all(c.isalnum() or c in "-_.T" for c in run_id)


def take_all(
    sessions: list[DeviceSession],
    owner: Owner,
    *,
    wait_s: float | None,
    emit: Callable[[str], None],
    fresh: Callable[[DeviceSession], DeviceSession],
    reconnect_timeout_s: float | None = None,
) -> list[Lease]:
    """Leases on every session, or DeviceBusyError naming the holders (after `wait_s`)."""
    held: list[Lease] = []
    deadline = None if wait_s is None else time.monotonic() + wait_s
    told: dict[str, str] = {}
    try:
        while True:
            busy: list[tuple[DeviceSession, Holder]] = []
            for s in sessions:
                holder = acquire(s, owner, emit=emit, reconnect_timeout_s=reconnect_timeout_s)
                if holder is None:
                    held.append(Lease(fresh(s), owner, s))
                else:
                    busy.append((s, holder))
            if not busy:
                return held
            # All or nothing: a run holding A while it waits for B, and another
            # holding B while it waits for A, would wait for each other forever.
            release_all(held)
            held = []
            if deadline is None or time.monotonic() >= deadline:
                raise DeviceBusyError(
                    "; ".join(f"{s.serial} is leased by {h.describe()}" for s, h in busy),
                    serial=busy[0][0].serial,
                    hint="wait for it with --wait-for-device SECONDS, or pick another phone",
                )
            for s, h in busy:
                if told.get(s.serial) != h.token:
                    told[s.serial] = h.token
                    emit(f"{s.serial}: waiting for the lease of {h.describe()}")
            pause()
    except BaseException:
        release_all(held)
        raise


def pause() -> None:
    """Sleep before looking again; the jitter keeps competing runs out of lockstep."""
    time.sleep(WAIT_POLL_S * (0.5 + secrets.randbelow(1000) / 1000))


def release_all(leases: list[Lease]) -> None:
    """Close every lease (heartbeat stopped, folder removed)."""
    for lease in leases:
        lease.close()


__all__ = [
    "HEARTBEAT_EVERY_S",
    "LEASE_DIR",
    "STALE_AFTER_S",
    "Holder",
    "Lease",
    "Owner",
    "acquire",
    "break_stale",
    "read_holder",
    "release",
    "take_all",
    "try_take",
]
