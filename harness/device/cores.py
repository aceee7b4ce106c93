"""Which CPUs a benchmark is pinned to: topology and masks from device_scripts/cores.sh.

The choice is made on the device by POSIX sh (cores.sh groups CPUs by
cpufreq/related_cpus and ranks clusters by cpuinfo_max_freq) so that the same
rule runs at a bench with plain `adb shell`; this module validates the policy
before it travels and reads the script's answer.

A selection is `verified` only when the topology backs it: `big` on a phone
without cpufreq is every online CPU, which shows nothing about which cores
are big, so it is recorded unverified with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from harness.device.files import ensure_scripts
from harness.device.kv import cpu_list, int_or_none, parse_lines
from harness.device.session import DeviceSession
from harness.errors import CorePolicyError, DeviceError
from harness.identity import Cluster

POLICIES = ("big", "prime", "little", "all")
_HEX_MASK = re.compile(r"(0[xX])?[0-9a-fA-F]{1,8}")
SCRIPT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Topology:
    """The CPUs of a device as cores.sh saw them, with the mask of every policy."""

    ncpu: int
    online: tuple[int, ...]
    clusters: tuple[Cluster, ...]
    masks: dict[str, str]
    warnings: tuple[str, ...]
    # Named policy -> why the topology does not back its mask (cores.sh `unverified_*`).
    unverified: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CoreSelection:
    """The mask given to taskset for a policy, the CPUs it names, and whether the
    topology showed that they are what the policy means (`reason` says why not)."""

    policy: str
    mask: str
    cpus: tuple[int, ...]
    warnings: tuple[str, ...] = ()
    verified: bool = True
    reason: str | None = None  # why not verified


def check_policy(policy: str) -> str:
    """Refuse a policy that is neither a name nor a hex mask, before any device call."""
    name = policy.strip().lower()
    if name in POLICIES:
        return name
    if _HEX_MASK.fullmatch(name) and int(name, 16) != 0:
        return name
    raise CorePolicyError(
        f"unknown core policy {policy!r}",
        hint="use big, prime, little, all or a non-zero hex mask such as f0",
    )


def parse_cores_output(text: str) -> tuple[Topology, CoreSelection | None, str | None]:
    """Read cores.sh output: topology, the selection (None on error) and the error."""
    plain, records, warnings = parse_lines(text)
    clusters = tuple(
        Cluster(
            id=int(rec.get("cluster", "0")),
            cpus=cpu_list(rec.get("cpus")),
            max_khz=int_or_none(rec.get("max_khz")),
            governor=rec.get("governor", "unknown"),
            online=cpu_list(rec.get("online")),
        )
        for rec in records["cluster"]
    )
    topo = Topology(
        ncpu=int_or_none(plain.get("cpus")) or 0,
        online=cpu_list(plain.get("online")),
        clusters=clusters,
        masks={p: plain[f"mask_{p}"] for p in POLICIES if f"mask_{p}" in plain},
        warnings=tuple(warnings),
        unverified={p: plain[f"unverified_{p}"] for p in POLICIES if f"unverified_{p}" in plain},
    )
    error = plain.get("error")
    if error is not None or "mask" not in plain:
        return topo, None, error or "cores.sh printed no mask"
    policy, mask = plain.get("policy", ""), plain["mask"]
    reason = _unverified_reason(topo, policy, mask)
    selection = CoreSelection(
        policy=policy,
        mask=mask,
        cpus=cpu_list(plain.get("selected")),
        warnings=tuple(warnings),
        verified=reason is None,
        reason=reason,
    )
    return topo, selection, None


def _unverified_reason(topo: Topology, policy: str, mask: str) -> str | None:
    """Why the topology does not back `policy`'s mask, or None when it does.

    `all` and a hex mask are checked against the online CPUs, which cores.sh
    always reads; a named cluster needs every CPU ranked by its cpufreq
    policy, and an online CPU in it.
    """
    why = topo.unverified.get(policy)
    if why is None:
        return None
    return f"not verified: {why}; mask {mask} shows nothing about which cores are {policy}"


def run_cores_script(session: DeviceSession, policy: str) -> tuple[Topology, CoreSelection]:
    """Run cores.sh for `policy` on the device (one round trip once scripts are there)."""
    name = check_policy(policy)
    scripts = ensure_scripts(session)
    result = session.shell(
        ["sh", f"{scripts}/cores.sh", name], timeout_s=SCRIPT_TIMEOUT_S, check=False
    )
    topo, selection, error = parse_cores_output(result.stdout)
    if selection is None:
        if result.exit_code == 2 or result.exit_code == 3:
            raise CorePolicyError(f"{session.serial}: {error}")
        raise DeviceError(
            f"cores.sh failed: {error}",
            serial=session.serial,
            command="cores.sh",
            device_exit_code=result.exit_code,
            stdout=result.stdout,
            stderr=result.stderr,
        )
    return topo, selection


def select_cores(session: DeviceSession, policy: str) -> CoreSelection:
    """The taskset mask and CPUs for `policy` (big, prime, little, all, or hex)."""
    return run_cores_script(session, policy)[1]


def unverified_selection(policy: str, ncpu: int | None) -> CoreSelection:
    """A mask for a device whose CPU topology cannot be read (no sysfs).

    `all` and an explicit hex mask need no topology, so the run proceeds, with
    a warning that nothing checked the mask against the real cores; `big`,
    `prime` and `little` cannot be resolved and raise DeviceError (exit 3).
    """
    name = check_policy(policy)
    if name in ("big", "prime", "little"):
        raise DeviceError(
            f"--cores {name} needs the CPU topology, but /sys/devices/system/cpu is not readable",
            hint="pass --cores all or a hex mask such as f0",
        )
    if name == "all":
        if not ncpu:
            raise DeviceError(
                "--cores all: cannot count the CPUs (no sysfs topology, no nproc)",
                hint="pass a hex mask such as f0",
            )
        mask = format((1 << ncpu) - 1, "x")
    else:
        mask = format(int(name, 16), "x")
    value = int(mask, 16)
    cpus = tuple(i for i in range(value.bit_length()) if value >> i & 1)
    return CoreSelection(
        policy=name,
        mask=mask,
        cpus=cpus,
        verified=False,
        reason=(
            f"affinity not verified: mask {mask} was not checked against the CPU "
            "topology (sysfs unreadable)"
        ),
    )
