"""Files the harness keeps on a device, all under one working folder.

Everything goes to `WORKDIR` so that `harness clean` can remove exactly what
the harness put there. A push is skipped when the device already holds a
file with the same sha256 (models are tens of MB; a lab re-runs daily), and
every push is verified by sha256 computed on the device afterwards. Hash
checks for a batch of files cost one shell round trip, not one per file.

Hashing every model on the phone before every run costs seconds (a full
catalogue is ~100 MB), so each sha256 the device computes is recorded in
`MANIFEST` with the file's size and modification time (to the nanosecond).
A later check trusts a recorded hash only while the file still has that size
and time, the quick check rsync makes; anything else is hashed again.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import harness
from harness.device.kv import device_lines
from harness.device.quote import sh_quote
from harness.device.session import DeviceSession
from harness.errors import DeviceError, HarnessError, TransferError
from harness.inputs import BINARY_BYTES, MODEL_BYTES, sha256_file

log = logging.getLogger(__name__)

WORKDIR = "/data/local/tmp/harness"
SCRIPTS_SUBDIR = "scripts"
MANIFEST = f"{WORKDIR}/.manifest"  # sha256 <TAB> size <TAB> mtime <TAB> path, newest last
_STAT_FORMAT = "%s\t%y"  # toybox stat: size, modification time with nanoseconds
HASH_TIMEOUT_S = 60.0
# A slow USB 2 link moves ~10 MB/s; allow half that plus a fixed margin.
PUSH_BASE_TIMEOUT_S = 30.0
PUSH_BYTES_PER_S = 5e6
EXECUTABLE_SUFFIXES = (".sh",)
# adbd before Android 9 accepts 4 KiB per packet, the shell command included.
MAX_SCRIPT_BYTES = 3500


@dataclass(frozen=True)
class PushOutcome:
    """What happened to one file: its device path, and whether bytes moved."""

    remote: str
    sha256: str
    pushed: bool


_hash_cache: dict[tuple[str, int, int], str] = {}


PUSH_BYTES = max(BINARY_BYTES, MODEL_BYTES)  # the largest file a run pushes: binary or model


def local_sha256(path: Path) -> str:
    """sha256 of a host file, cached by (path, size, mtime) for repeated prepares."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _hash_cache.get(key)
    if digest is None:
        digest = sha256_file(path, limit=PUSH_BYTES, what="a file to push")
        _hash_cache[key] = digest
    return digest


def remote_path(name: str) -> str:
    """The device path of `name` (relative, may hold sub-folders) inside WORKDIR."""
    bad = (
        not name
        or name.startswith("/")
        or "\x00" in name
        or "\n" in name
        or any(part in ("", ".", "..") for part in name.split("/"))
    )
    if bad:
        raise HarnessError(
            f"cannot place {name!r} on the device",
            hint="use a relative name without '..', empty parts or newlines",
        )
    return f"{WORKDIR}/{name}"


def scripts_source_dir() -> Path:
    """The device scripts shipped with the package.

    `harness/device/scripts` is a symlink to the top-level `device_scripts/`
    in a checkout; a wheel carries the files themselves, so installed and
    editable harnesses push the same scripts.
    """
    return Path(harness.__file__).resolve().parent / "device" / "scripts"


def _remote_hashes(session: DeviceSession, remotes: Sequence[str]) -> list[str | None]:
    """sha256 of each device path (None when absent), creating parent folders.

    One shell call per batch whose script fits the 4 KiB payload of older
    adbd versions (a whole catalogue of models is still only a few calls).
    """
    out: list[str | None] = []
    batch: list[str] = []
    size = 0
    for remote in remotes:
        cost = 2 * len(sh_quote(remote)) + 80
        if batch and size + cost > MAX_SCRIPT_BYTES:
            out.extend(_remote_hashes_once(session, batch))
            batch, size = [], 0
        batch.append(remote)
        size += cost
    if batch:
        out.extend(_remote_hashes_once(session, batch))
    return out


def _remote_hashes_once(session: DeviceSession, remotes: Sequence[str]) -> list[str | None]:
    parents = sorted({str(PurePosixPath(r).parent) for r in remotes})
    lines = ["mkdir -p " + " ".join(sh_quote(p) for p in parents) + " || exit 3"]
    for remote in remotes:
        q = sh_quote(remote)
        # Print the hash, and record it with the file's size and time for quick checks.
        lines.append(
            f'if [ -f {q} ]; then set -- $(sha256sum {q}) || exit 4; echo "$1"; '
            f'printf \'%s\\t%s\\t%s\\n\' "$1" "$(stat -c {sh_quote(_STAT_FORMAT)} {q})" {q}'
            f" >> {sh_quote(MANIFEST)}; else echo absent; fi"
        )
    result = session.shell("\n".join(lines), timeout_s=HASH_TIMEOUT_S, check=False)
    if result.exit_code != 0:
        raise DeviceError(
            f"cannot prepare {WORKDIR} (exit {result.exit_code}): {result.output.strip()[-300:]}",
            serial=session.serial,
            command="mkdir/sha256sum",
            device_exit_code=result.exit_code,
            stdout=result.stdout,
            stderr=result.stderr,
            hint="the device needs a writable /data/local/tmp and sha256sum",
        )
    out = [line.strip() for line in device_lines(result.stdout) if line.strip()]
    if len(out) != len(remotes):
        raise DeviceError(
            f"expected {len(remotes)} hash lines, got {len(out)}",
            serial=session.serial,
            command="sha256sum",
            stdout=result.stdout,
        )
    hashes: list[str | None] = []
    for line in out:
        if line == "absent":
            hashes.append(None)
        else:
            # sha256sum prefixes a backslash when it had to escape the name.
            hashes.append(line.lstrip("\\").split(" ", 1)[0].lower())
    return hashes


def _quick_check(session: DeviceSession, remotes: Sequence[str]) -> dict[str, str]:
    """Device paths whose recorded sha256 still holds (same size and time), in one call.

    Returns {path: sha256} for those only; the rest need hashing. A missing or
    unreadable manifest just means nothing is trusted.
    """
    stats = " ".join(sh_quote(r) for r in remotes)
    script = (
        f"cat {sh_quote(MANIFEST)} 2>/dev/null; echo __stat__; "
        f'for f in {stats}; do stat -c {sh_quote(_STAT_FORMAT)} "$f" 2>/dev/null '
        "|| echo absent; done"
    )
    if len(script) > MAX_SCRIPT_BYTES:
        return {}  # too many names for one old-adbd packet: hash them instead
    result = session.shell(script, timeout_s=HASH_TIMEOUT_S, check=False)
    manifest, _, stat_text = result.stdout.partition("__stat__\n")
    known: dict[str, tuple[str, str]] = {}
    for line in device_lines(manifest.removesuffix("\n")):
        parts = line.split("\t", 3)
        if len(parts) == 4:
            known[parts[3]] = (parts[0], f"{parts[1]}\t{parts[2]}")  # the newest line wins
    now = device_lines(stat_text.removesuffix("\n")) if stat_text else []
    if result.exit_code != 0 or len(now) != len(remotes):
        return {}
    return {
        remote: known[remote][0]
        for remote, current in zip(remotes, now, strict=True)
        if remote in known and known[remote][1] == current
    }


def push_many(
    session: DeviceSession,
    items: Sequence[tuple[Path | str, str]],
    *,
    executable: bool = False,
    known_sha256: Mapping[str, str] | None = None,
) -> list[PushOutcome]:
    """Push (local, name) pairs into WORKDIR, skipping files already there; verify each.

    Round trips: one quick check for all (see `MANIFEST`), one hash check of
    files it cannot vouch for, one push per changed file, one hash check of
    what was pushed.

    `known_sha256` (name -> sha256): digests the caller holds on record for its
    local files (the model cache's), used instead of hashing them again: 22
    models are ~240 MB, half a second of every run's start. The device's copy
    is what a trial runs, and it is checked against that digest; a local file
    that no longer matches its record is refused by the check after its push.
    """
    if not items:
        return []
    plan: list[tuple[Path, str, str, int]] = []
    for local, name in items:
        path = Path(local)
        if not path.is_file():
            raise HarnessError(f"no such file to push: {path}")
        mode = 0o755 if executable or name.endswith(EXECUTABLE_SUFFIXES) else 0o644
        digest = (known_sha256 or {}).get(name) or local_sha256(path)
        plan.append((path, remote_path(name), digest, mode))
    recorded = _quick_check(session, [p[1] for p in plan])
    unsure = [entry for entry in plan if recorded.get(entry[1]) != entry[2]]
    before = (
        dict(
            zip(
                [u[1] for u in unsure], _remote_hashes(session, [u[1] for u in unsure]), strict=True
            )
        )
        if unsure
        else {}
    )
    changed: list[tuple[Path, str, str, int]] = []
    for entry in plan:
        if recorded.get(entry[1]) == entry[2]:
            log.debug(
                "%s: %s already on the device (recorded sha256, same size and time)",
                session.serial,
                entry[1],
            )
        elif before.get(entry[1]) == entry[2]:
            log.debug("%s: %s already on the device (sha256 matches)", session.serial, entry[1])
        else:
            changed.append(entry)
    for path, remote, _digest, mode in changed:
        timeout_s = PUSH_BASE_TIMEOUT_S + path.stat().st_size / PUSH_BYTES_PER_S
        log.info("%s: pushing %s -> %s", session.serial, path.name, remote)
        session.push(path, remote, timeout_s=timeout_s, mode=mode)
    if changed:
        after = _remote_hashes(session, [c[1] for c in changed])
        for (path, remote, digest, _mode), got in zip(changed, after, strict=True):
            if got != digest:
                raise TransferError(
                    f"{remote} does not match {path} after the push "
                    f"(sha256 {got} on the device, {digest} on the host)",
                    serial=session.serial,
                    command=f"push {path}",
                )
    moved = {c[1] for c in changed}
    return [PushOutcome(remote, digest, remote in moved) for _, remote, digest, _ in plan]


def ensure_scripts(session: DeviceSession) -> str:
    """Push device_scripts/*.sh to WORKDIR/scripts once per session; return that folder."""
    if session.scripts_dir is None:
        source = scripts_source_dir()
        scripts = sorted(source.glob("*.sh"))
        if not scripts:
            raise HarnessError(f"no device scripts found in {source}")
        push_many(session, [(s, f"{SCRIPTS_SUBDIR}/{s.name}") for s in scripts])
        session.scripts_dir = f"{WORKDIR}/{SCRIPTS_SUBDIR}"
    return session.scripts_dir


def clean(session: DeviceSession, *, timeout_s: float = 60.0) -> int:
    """Remove WORKDIR and everything in it; return how many files were there."""
    q = sh_quote(WORKDIR)
    runner = sh_quote(f"{WORKDIR}/{SCRIPTS_SUBDIR}/run_trial.sh")
    trials = sh_quote(f"{WORKDIR}/trials")
    # Stop benchmark processes a killed run left detached (run_trial.sh's
    # `sweep`), so nothing keeps running from a folder that is gone.
    script = (
        f"if [ -f {runner} ]; then sh {runner} sweep {trials} >/dev/null 2>&1; fi; "
        f"if [ -d {q} ]; then n=$(find {q} -type f | wc -l); rm -rf {q} || exit 1; "
        f"echo removed=$n; else echo removed=0; fi"
    )
    result = session.shell(script, timeout_s=timeout_s)
    session.scripts_dir = None
    for line in device_lines(result.stdout):
        if line.startswith("removed="):
            return int(line.split("=", 1)[1].strip() or 0)
    return 0
