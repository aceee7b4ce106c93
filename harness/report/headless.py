"""How the harness opens a report in Debian's headless chromium (tests, benchmarks).

Root needs --no-sandbox; the background-networking flags stop chromium's own
calls home, which a closed network refuses (and which would count as requests
the report made).
"""

from __future__ import annotations

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
