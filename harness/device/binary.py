"""Which benchmark_model runs on a device, and what it is.

Three sources, in order: a local file given with --benchmark-binary (checked
against the device ABI before any push, then pushed once into WORKDIR/bin),
or the `benchmark_model` already installed on the device, used in place.
Whatever runs is identified from the device side: its sha256 computed there,
the first line it prints and the flags its --help lists. So results always
say what produced them, and a stand-in is never reported as the official
tool: kind "stand-in" when it says so on its first line, "official" when its
sha256 is one `harness fetch-binary` took from the official nightly bucket,
"unknown" otherwise. LiteRT's CompiledModel tool, also named benchmark_model,
is told apart by the flags its --help lists (`harness.bench.units`): it is
LiteRT's NPU path, and a run uses it for `--accelerator npu` alone.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from harness.device import download, elf
from harness.device.files import WORKDIR, push_many
from harness.device.kv import device_lines, digits
from harness.device.quote import sh_quote
from harness.device.session import DeviceSession, parse_sha256_line
from harness.errors import BinaryError, DeviceError
from harness.identity import BinaryInfo
from harness.vocab import STAND_IN_MARK, BinaryKind

log = logging.getLogger(__name__)

DEVICE_NAME = "bin/benchmark_model"
# Where an installed benchmark_model usually lives, after $PATH.
INSTALLED_CANDIDATES = ("/data/local/tmp/benchmark_model", "/system/bin/benchmark_model")
PROBE_TIMEOUT_S = 60.0
_BEGIN, _END = "__harness_help_begin__", "__harness_help_end__"
# A flag in a usage listing: "--num_runs=50  int32 ..." at the start of a line,
# after the tool's optional log prefix (current builds log usage as "ERROR: ").
_FLAG = re.compile(
    r"^(?:(?:INFO|WARN|WARNING|ERROR|VERBOSE|FATAL):)?\s*--([A-Za-z][A-Za-z0-9_]*)", re.MULTILINE
)


def classify(sha256: str, version_line: str | None) -> BinaryKind:
    """stand-in / official / unknown, from what the binary says and its hash."""
    if version_line and STAND_IN_MARK in version_line.lower():
        return "stand-in"
    if download.is_official(sha256):
        return "official"
    return "unknown"


def parse_help(text: str) -> tuple[str | None, frozenset[str]]:
    """First non-empty output line and the flag names a --help listing shows."""
    first = next((line.strip() for line in device_lines(text) if line.strip()), None)
    return first, frozenset(_FLAG.findall(text))


def _probe_script(candidates: list[str], *, search_path: bool) -> str:
    """Find the first existing candidate; print its path, sha256 and --help output.

    With `search_path`, `command -v benchmark_model` is tried first (its
    result is data inside double quotes, never re-parsed as code).
    """
    words = " ".join(sh_quote(c) for c in candidates)
    if search_path:
        words = '"$(command -v benchmark_model 2>/dev/null)" ' + words
    return (
        f"for p in {words}; do\n"
        '  [ -n "$p" ] && [ -f "$p" ] || continue\n'
        '  echo "path=$p"\n'
        '  sha256sum "$p" || exit 4\n'
        f"  echo {_BEGIN}\n"
        '  "$p" --help 2>&1 </dev/null\n'
        f'  echo; echo "{_END} $?"\n'
        "  exit 0\n"
        "done\n"
        "echo path=\n"
    )


def _probe(
    session: DeviceSession, candidates: list[str], *, search_path: bool = False
) -> tuple[str, str, str, int] | None:
    """(path, sha256, help text, help exit code) of the first candidate present."""
    script = _probe_script(candidates, search_path=search_path)
    out = session.shell(script, timeout_s=PROBE_TIMEOUT_S).stdout
    head, _, rest = out.partition(f"{_BEGIN}\n")
    lines = device_lines(head)
    path = lines[0][len("path=") :].strip() if lines and lines[0].startswith("path=") else ""
    if not path:
        return None
    sha = parse_sha256_line("\n".join(lines[1:]), path, serial=session.serial)
    if sha is None:
        return None
    help_text, _, tail = rest.rpartition(_END)
    code = int(tail.strip()) if digits(tail.strip().lstrip("-")) else -1
    return path, sha, help_text, code


def device_abilist(session: DeviceSession) -> list[str]:
    """The ABIs the device runs (ro.product.cpu.abilist, else ro.product.cpu.abi)."""
    result = session.shell(
        "getprop ro.product.cpu.abilist; getprop ro.product.cpu.abi", timeout_s=15.0, check=False
    )
    lines = [line.strip() for line in device_lines(result.stdout)]
    found = [a for line in lines for a in line.split(",") if a]
    return list(dict.fromkeys(found))


def prepare_binary(
    session: DeviceSession,
    local_path: str | Path | None,
    *,
    abilist: list[str] | None = None,
) -> BinaryInfo:
    """Make a benchmark_model ready on the device and identify it.

    With `local_path`: check its ELF header against the device ABIs (before
    any push), push it once to WORKDIR/bin, and probe it there. Without: use
    the one installed on the device ($PATH, /data/local/tmp, /system/bin).
    """
    if local_path is not None:
        path = Path(local_path)
        if not path.is_file():
            raise BinaryError("no such file", path=str(path))
        abis = abilist if abilist is not None else device_abilist(session)
        elf.check_abi(path, abis)
        outcome = push_many(session, [(path, DEVICE_NAME)], executable=True)[0]
        probed = _probe(session, [outcome.remote])
        source = f"pushed:{path}"
    else:
        probed = _probe(session, list(INSTALLED_CANDIDATES), search_path=True)
        source = "installed"
    if probed is None:
        # A device problem (exit 3): name exactly where we looked, and one way that works.
        searched = ["$PATH (command -v benchmark_model)", *INSTALLED_CANDIDATES]
        raise DeviceError(
            "no benchmark_model on the device; searched " + ", ".join(searched),
            serial=session.serial,
            command="benchmark_model probe",
            hint="run `harness fetch-binary` and pass the file it prints with "
            "--benchmark-binary PATH (pushed to "
            f"{WORKDIR}/{DEVICE_NAME}), or `adb push benchmark_model "
            f"{INSTALLED_CANDIDATES[0]}` and `adb shell chmod 755 {INSTALLED_CANDIDATES[0]}`",
        )
    device_path, sha, help_text, code = probed
    version_line, flags = parse_help(help_text)
    # 126/127: not executable / loader missing; >= 128: killed by a signal.
    if code in (126, 127) or code >= 128 or version_line is None:
        raise DeviceError(
            f"{device_path} does not run on the device (exit {code}): {help_text.strip()[:200]}",
            serial=session.serial,
            command=f"{device_path} --help",
            hint="use a build for the device's ABI (`harness fetch-binary`) with "
            "--benchmark-binary PATH",
        )
    if not flags:
        log.warning(
            "%s: %s listed no flags for --help; trials will pass only what is required",
            session.serial,
            device_path,
        )
    kind = classify(sha, version_line)
    log.info(
        "%s: benchmark_model %s (%s, sha256 %s...)", session.serial, device_path, kind, sha[:12]
    )
    return BinaryInfo(
        kind=kind,
        sha256=sha,
        device_path=device_path,
        version_line=version_line,
        flags=flags,
        source=source,
    )
