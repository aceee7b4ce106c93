"""Can this phone run trials at all? One round trip, once per device, before any trial.

A phone without `taskset` used to fail every trial with exit 127, one by one;
a phone without a readable CPU topology used to be refused even when the user
named the cores. This check asks the device once for everything a trial
needs (the tools, the shell features run_trial.sh uses, the CPU topology) and
turns each gap into one clear line: a `DeviceError` (exit 3) when trials
cannot work, a warning when they can but something is not verified.
`harness devices` shows the same warnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from harness.device.kv import device_lines, int_or_none
from harness.device.session import DeviceSession
from harness.errors import DeviceError

PREFLIGHT_TIMEOUT_S = 20.0
# Tools run_trial.sh and the device layer call; without these no trial runs
# (mkfifo: a trial's end wakes whoever waits for it through a fifo).
REQUIRED_TOOLS = ("taskset", "sha256sum", "mkfifo")
CPU_SYSFS = "/sys/devices/system/cpu"

# Each check prints one key=value line. The shell features are the ones
# run_trial.sh relies on: arithmetic, `read -r`, `kill -0`, `trap`, `wait`.
_SCRIPT = f"""\
for t in taskset sha256sum mkfifo setsid nproc; do
  if command -v "$t" >/dev/null 2>&1; then echo "tool.$t=yes"; else echo "tool.$t=no"; fi
done
shell=no
( x=$((2 * 3)); [ "$x" = 6 ] || exit 1
  echo a | {{ read -r y; [ "$y" = a ]; }} || exit 1
  kill -0 $$ || exit 1
  trap ':' USR1 || exit 1
  sleep 0 & wait $! ) >/dev/null 2>&1 && shell=yes
echo "shell=$shell"
sysfs=no
[ -r {CPU_SYSFS}/possible ] && [ -d {CPU_SYSFS}/cpu0 ] && sysfs=yes
echo "sysfs=$sysfs"
echo "ncpu=$(nproc 2>/dev/null)"
"""


@dataclass(frozen=True)
class Preflight:
    """What the device offers the trials."""

    tools: dict[str, bool]
    shell_ok: bool
    sysfs: bool
    ncpu: int | None
    warnings: list[str] = field(default_factory=list)

    def problems(self) -> list[str]:
        """Gaps that make every trial fail (one line each)."""
        out = [
            f"no `{t}` on the device (toybox has it from Android 6): trials cannot run"
            for t in REQUIRED_TOOLS
            if not self.tools.get(t)
        ]
        if not self.shell_ok:
            out.append(
                "the device shell lacks a POSIX feature run_trial.sh needs "
                "($((..)), read -r, kill -0, trap, wait)"
            )
        return out


def parse_preflight(text: str) -> Preflight:
    """Read the preflight script's key=value lines."""
    values = dict(line.split("=", 1) for line in device_lines(text) if "=" in line)
    tools = {k[len("tool."):]: v.strip() == "yes" for k, v in values.items()
             if k.startswith("tool.")}  # fmt: skip
    sysfs = values.get("sysfs", "").strip() == "yes"
    warnings = []
    if not tools.get("setsid"):
        warnings.append(
            "no `setsid` on the device: trials are detached with SIGHUP ignored but share "
            "the launching shell's process group (a daemon that kills that group on a "
            "disconnect would end them; the harness then runs them again)"
        )
    if not sysfs:
        warnings.append(
            f"{CPU_SYSFS} is not readable: CPU topology unknown, so `big`, `prime` and "
            "`little` cannot be resolved and affinity is not verified "
            "(use --cores all or a hex mask)"
        )
    return Preflight(
        tools=tools,
        shell_ok=values.get("shell", "").strip() == "yes",
        sysfs=sysfs,
        ncpu=int_or_none(values.get("ncpu", "").strip() or None),
        warnings=warnings,
    )


def run_preflight(session: DeviceSession) -> Preflight:
    """Ask the device once (no device scripts needed: it runs before any push)."""
    result = session.shell(_SCRIPT, timeout_s=PREFLIGHT_TIMEOUT_S, check=False)
    return parse_preflight(result.stdout)


def check(session: DeviceSession) -> Preflight:
    """run_preflight, raising DeviceError (exit 3) naming every gap that stops trials."""
    found = run_preflight(session)
    problems = found.problems()
    if problems:
        raise DeviceError(
            "cannot run trials: " + "; ".join(problems),
            serial=session.serial,
            command="preflight",
            hint="use a phone with toybox (Android 6+), or install toybox on it",
        )
    return found
