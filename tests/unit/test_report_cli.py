"""`harness report` through the real CLI entry point (exit codes, --json, -o)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.cli import main
from tests.support.sample import SampleSpec, write_sample_run


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_sample_run(
        tmp_path_factory.mktemp("cli"), SampleSpec(variants="v2:0.35_96,v2:0.35_128", trials=2)
    )


def test_report_json_describes_the_written_file(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sub" / "r.html"
    assert main(["report", str(run_dir), "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["path"] == str(out) and out.is_file()
    assert summary["size_bytes"] == out.stat().st_size
    (section,) = summary["sections"]
    assert section["variants"] == 2 and section["measured"] == 2 and section["failed"] == 0
    assert section["not_phone_numbers"] is True and section["regressions"] is None
    assert "not a phone's" in captured.err and f"wrote {out}" in captured.err


def test_a_missing_run_folder_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "no such run folder" in err[0]


def test_a_bad_threshold_exits_2_before_writing(
    run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.html"
    code = main(
        ["report", str(run_dir), "--baseline", str(run_dir), "--threshold", "lots", "-o", str(out)]
    )
    assert code == 2 and not out.exists()
    assert "threshold" in capsys.readouterr().err


def test_pdf_without_chromium_is_one_clear_line_and_exit_3(
    run_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from harness.report import pdf

    monkeypatch.setattr(pdf, "CANDIDATES", (str(tmp_path / "no-chromium"),))
    out, target = tmp_path / "r.html", tmp_path / "r.pdf"
    assert main(["report", str(run_dir), "-o", str(out), "--pdf", str(target)]) == 3
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error")]
    assert len(errors) == 1 and "Chromium is not installed" in errors[0]
    assert out.is_file() and not target.exists()  # the HTML report is still there
