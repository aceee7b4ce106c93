"""Print a written report to PDF with headless Chromium, for people who mail reports.

Chromium is the one renderer the report is tested in (tests/browser), so the
PDF looks like the page; its print stylesheet (static/report.css, `@media
print`) keeps charts and tables whole across pages. Chromium is an optional
system package: without it, `PdfError` says so in one line (exit 3, an
environment problem) and the HTML report is still written.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness.errors import PdfError
from harness.outputs import write_atomic
from harness.report.headless import CHROMIUM, CHROMIUM_ARGS

log = logging.getLogger(__name__)

CANDIDATES: tuple[str, ...] = (CHROMIUM, "chromium", "chromium-browser")
PDF_TIMEOUT_S = 120.0  # a 100-run history prints in a few seconds; a hung browser must not hang us
PRINT_ARGS = ("--headless", "--no-pdf-header-footer")


def find_chromium(candidates: Sequence[str] | None = None) -> str | None:
    """The first Chromium on this machine (of `candidates`, default CANDIDATES), or None."""
    for name in CANDIDATES if candidates is None else candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


def print_pdf(html: Path, pdf: Path, *, timeout_s: float = PDF_TIMEOUT_S) -> Path:
    """Print `html` to `pdf` (written atomically: a failed print leaves no half file)."""
    browser = find_chromium()
    if browser is None:
        raise PdfError(
            "cannot print to PDF: Chromium is not installed",
            path=str(pdf),
            hint="install Debian's chromium (sh scripts/setup-system.sh); the HTML report is "
            f"written at {html}",
        )
    pdf.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="harness-pdf-") as profile:
        tmp = Path(profile) / "report.pdf"
        command = [
            browser,
            *CHROMIUM_ARGS,
            *PRINT_ARGS,
            f"--user-data-dir={profile}/chromium",  # never the user's own profile or its lock
            f"--print-to-pdf={tmp}",
            html.resolve().as_uri(),
        ]
        log.debug("printing to PDF: %s", " ".join(command))
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise PdfError(
                f"Chromium did not finish printing within {timeout_s:g} s", path=str(pdf)
            ) from None
        except OSError as exc:
            raise PdfError(f"cannot run Chromium: {exc}", path=str(pdf)) from None
        log.debug("chromium exit %s: %s", done.returncode, done.stderr[-2000:])
        if done.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise PdfError(
                f"Chromium failed to print (exit {done.returncode}): {tail}", path=str(pdf)
            )
        write_atomic(pdf, tmp.read_bytes(), option="--pdf")
    return pdf
