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
    for word in body.split():
        key, _, value = word.partition("=")
        out[key] = value
    if tail is not None:
        out[tail[0]] = tail[1]
    return out


def parse_lines(text: str) -> tuple[dict[str, str], dict[str, list[dict[str, str]]], list[str]]:
    """Split script output into (plain keys, records by kind, warnings)."""
    plain: dict[str, str] = {}
    records: dict[str, list[dict[str, str]]] = {kind: [] for kind in RECORD_KEYS}
    warnings: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
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
    return tuple(int(v) for v in value.split(",") if v.strip().isdigit())
