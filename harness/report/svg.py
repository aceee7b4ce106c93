"""Turn a matplotlib SVG document into an SVG element safe to inline in HTML.

matplotlib writes a standalone file: an XML prolog and DOCTYPE (not allowed
inside HTML), a global `*{...}` style rule (which would leak onto the page),
RDF metadata, fixed pt sizes, and ids (`p1a2b3c4d5e`, `m0123...`, `line2d_1`)
that repeat from one chart to the next. Several charts in one page would then
point their `url(#...)` clip paths at each other's elements. Every id is given
the chart's own prefix here, and data groups tagged `marks-N` by charts.py get
`class="marks"` so a test (or a reader's stylesheet) can find them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup

_PROLOG = re.compile(r"^.*?(?=<svg\b)", re.S)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.S)
_STYLE = re.compile(r"<style[^>]*>.*?</style>\s*", re.S)
_SIZE = re.compile(r'\s(width|height)="[^"]*pt"')
_ID = re.compile(r'\bid="([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")
_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')
_MARKS = re.compile(r'<g id="([^"]*-marks-\d+)"')
_PREFIX_OK = re.compile(r"^[a-z][a-z0-9-]*$")


def _title(text: str) -> str:
    return f"<title>{Markup.escape(text)}</title>"


def inline_svg(
    document: str, prefix: str, *, label: str, titles: Mapping[str, str] | None = None
) -> Markup:
    """The `<svg>` element of `document`, ids prefixed, sized by CSS, labelled for readers.

    `label` is plain text (it is escaped here); `prefix` must be a simple
    lowercase token because it ends up in id attributes unescaped. `titles`
    maps an artist's gid to plain text shown on hover: a `<title>` (escaped
    here) as the first child of that group, which browsers show as a tooltip.
    """
    if not _PREFIX_OK.match(prefix):
        raise ValueError(f"unsafe svg id prefix {prefix!r}")
    svg = _PROLOG.sub("", document, count=1)
    svg = _METADATA.sub("", svg)
    svg = _STYLE.sub("", svg)
    svg = _SIZE.sub("", svg, count=2)
    svg = _ID.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = _URL.sub(lambda m: f"url(#{prefix}-{m.group(1)})", svg)
    svg = _HREF.sub(lambda m: f'{m.group(1)}="#{prefix}-{m.group(2)}"', svg)
    svg = _MARKS.sub(lambda m: f'<g id="{m.group(1)}" class="marks"', svg)
    for gid, text in (titles or {}).items():
        found = re.search(rf'<g id="{re.escape(prefix)}-{re.escape(gid)}"[^>]*>', svg)
        if found:
            svg = svg[: found.end()] + _title(text) + svg[found.end() :]
    opening = f'<svg role="img" aria-label="{Markup.escape(label)}" class="chart-svg"'
    svg = svg.replace("<svg", opening, 1)
    # The SVG comes from matplotlib, which escapes the text it draws itself.
    return Markup(svg.strip())
