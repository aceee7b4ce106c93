"""A run's default label: git describe of the folder it starts in, or none outside a checkout."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.stages.label import default_label


def _git(folder: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(folder), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip


def test_a_tagged_checkout_is_labelled_by_its_tag(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "f").write_text("1")
    _git(tmp_path, "add", "f")
    _git(tmp_path, "commit", "-qm", "one")
    _git(tmp_path, "tag", "v1.2")
    assert default_label(tmp_path) == "v1.2"
    (tmp_path / "f").write_text("2")  # uncommitted work is not the tagged release
    assert default_label(tmp_path) == "v1.2-dirty"


def test_an_untagged_checkout_is_labelled_by_its_commit(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "f").write_text("1")
    _git(tmp_path, "add", "f")
    _git(tmp_path, "commit", "-qm", "one")
    label = default_label(tmp_path)
    assert label is not None and len(label) >= 7
    assert all(c in "0123456789abcdef" for c in label)


def test_outside_a_checkout_there_is_no_label(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The temporary folder may itself lie inside a checkout (nox puts TMPDIR in
    # .nox/): git must not look above it.
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert default_label(tmp_path) is None
