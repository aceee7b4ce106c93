"""Reading the key=value lines that device_scripts/*.sh print.

Two line shapes exist: `key=value` (the value is the rest of the line, so it
may hold spaces) and record lines such as `cluster=0 cpus=0,1 max_khz=...`
whose first key names the record and whose last key may hold spaces.
"""

from __future__ import annotations

RECORD_KEYS = frozenset({"cluster", "zone", "freq"})
# The one key per record kind whose value runs to the end of the line.
_TRAILING = {"zone": "type", "cluster": "online", "freq": "governor"}


def parse_record(line: str) -> dict[str, str]:
    """`zone=z0 temp=41 type=cpu gold` -> {'zone': 'z0', 'temp': '41', 'type': 'cpu gold'}."""
    kind = line.split("=", 1)[0]
    trailing = _TRAILING.get(kind)
    body = line
    tail: tuple[str, str] | None = None
    if trailing is not None and f" {trailing}=" in line:
        body, value = line.split(f" {trailing}=", 1)
        tail = (trailing, value)
    out: dict[str, str] = {}
    for word in words(body):
        key, _, value = word.partition("=")
        out[key] = value
    if tail is not None:
        out[tail[0]] = tail[1]
    return out


def digits(text: str) -> bool:
    """Whether `text` is a whole number in ASCII digits, which `int()` reads.

    `str.isdigit` also says yes to `²` or `①`, which `int()` refuses: a word
    from a phone (or a user) must not turn into a crash.
    """
    return text.isascii() and text.isdigit()


def words(line: str) -> list[str]:
    """A device line's space- or tab-separated words (`str.split()` would also split a
    value at U+2028 or `\x1c`, making a word the device never printed)."""
    return [w for w in line.replace("\t", " ").split(" ") if w]


def device_lines(text: str) -> list[str]:
    """The lines of device output: split at `\n` only, a `\r` before it dropped (a pty's).

    `str.splitlines` also splits at `\r`, `\v`, `\f`, `\x1c`-`\x1e`, `\x85`, U+2028
    and U+2029, which a property value may hold: a model named
    `Pixel<U+2028>prop.ro.board.platform=X` would set the recorded platform, and
    `Goo<CR>gle` be recorded as `Goo`. Values stay as the device gave them;
    printing them is `harness.textsafe`'s job.
    """
    return [line.removesuffix("\r") for line in text.split("\n")]


def parse_lines(text: str) -> tuple[dict[str, str], dict[str, list[dict[str, str]]], list[str]]:
    """Split script output into (plain keys, records by kind, warnings)."""
    plain: dict[str, str] = {}
    records: dict[str, list[dict[str, str]]] = {kind: [] for kind in RECORD_KEYS}
    warnings: list[str] = []
    for raw in device_lines(text):
        line = raw.strip(" \t")
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        if key in RECORD_KEYS:
            records[key].append(parse_record(line))
        elif key == "warning":
            warnings.append(value)
        else:
            plain[key] = value
    return plain, records, warnings


def int_or_none(value: str | None) -> int | None:
    """An int from a script value, or None when empty or not a number."""
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def cpu_list(value: str | None) -> tuple[int, ...]:
    """`0,1,3` -> (0, 1, 3); empty -> ()."""
    if not value:
        return ()
    return tuple(int(v) for v in value.split(",") if digits(v.strip()))
