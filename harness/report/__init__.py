"""The HTML report: stored runs -> one self-contained file for people.

`render(run_dirs, baseline=None, out=None) -> Path` reads run folders (never a
device), computes everything in Python (`context`, `charts`, `advice`) and
lays it out with jinja2 templates shipped in this package.
"""

from __future__ import annotations

from harness.report.render import render

__all__ = ["render"]
