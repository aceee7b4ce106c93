"""docs/design.md names every module there is, and the docs name only code there is.

docs/design.md gives each package and each module of `harness/` one line; a
module added without its line, or a line left for a module that moved, makes
the page a wrong map. And a dotted name in any doc (`harness.results.load`,
`results.shapes.fields_checker`) must still name a module, or a name that
module defines: a function moved to another package otherwise keeps its old
address in the docs.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"
DESIGN = ROOT / "docs" / "design.md"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
PACKAGES = sorted(p.name for p in HARNESS.iterdir() if (p / "__init__.py").is_file())

# `harness.<word>` in the docs that is not code: a file, an entry-point group, a
# property of the simulated phone, a key in parquet metadata.
NOT_CODE = {"toml", "device_sources", "simulated", "trials_jsonl_sha256"}
# What a dotted word ending in these is: a file name (`report.html`), not code.
FILE_SUFFIXES = {"html", "json", "jsonl", "md", "parquet", "pdf", "png", "py", "toml", "xml"}


def _section(text: str, title: str) -> str:
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _named_modules() -> tuple[set[Path], set[Path]]:
    """(package folders with a heading, module files with a line) of "Packages and modules"."""
    folders: set[Path] = set()
    files: set[Path] = set()
    folder: Path | None = None
    for line in _section(DESIGN.read_text(encoding="utf-8"), "Packages and modules").splitlines():
        heading = re.match(r"### `(harness(?:/[a-z_]+)*)/`", line)
        if heading:
            folder = ROOT / heading.group(1)
            folders.add(folder)
            continue
        item = re.match(r"- `([a-z_]+\.py)`: \S", line)
        if item:
            assert folder is not None, f"a module line before any package heading: {line}"
            files.add(folder / item.group(1))
    return folders, files


def _modules() -> set[Path]:
    """Every module file with something in it (an empty `__init__.py` has no job of its own)."""
    return {p for p in HARNESS.rglob("*.py") if p.stat().st_size > 0}


def test_every_module_has_its_line_in_the_design() -> None:
    _folders, files = _named_modules()
    assert len(files) > 150
    missing = sorted(str(p.relative_to(ROOT)) for p in _modules() - files)
    assert missing == [], f"docs/design.md lacks a line for: {missing}"


def test_every_module_the_design_lists_exists() -> None:
    _folders, files = _named_modules()
    gone = sorted(str(p.relative_to(ROOT)) for p in files if not p.is_file())
    assert gone == [], f"docs/design.md lists modules that do not exist: {gone}"


def test_every_package_has_its_heading_in_the_design() -> None:
    folders, _files = _named_modules()
    packages = {p.parent for p in HARNESS.rglob("__init__.py")}
    assert sorted(map(str, packages - folders)) == []
    assert sorted(map(str, folders - packages)) == []


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"))


def _defined(module: Path) -> dict[str, ast.AST]:
    """Names a module defines or imports at its top level (inside `if` blocks too)."""
    names: dict[str, ast.AST] = {}

    def visit(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    for name in ast.walk(target):
                        if isinstance(name, ast.Name):
                            names[name.id] = node
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    names[(alias.asname or alias.name).split(".")[0]] = node
            elif isinstance(node, (ast.If, ast.Try)):
                visit(node.body)
                visit(node.orelse)

    visit(_tree(module).body)
    return names


def _class_members(node: ast.ClassDef) -> set[str]:
    members = set()
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            members.add(item.name)
        elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
            members.add(item.target.id)
        elif isinstance(item, ast.Assign):
            members.update(t.id for t in item.targets if isinstance(t, ast.Name))
    return members


def _problem(dotted: str) -> str | None:
    """Why `harness.a.b.c` names nothing, or None when it names a module or a name in one."""
    parts = dotted.split(".")[1:]
    where = HARNESS
    module = HARNESS / "__init__.py"
    for i, part in enumerate(parts):
        if where.is_dir() and (where / part / "__init__.py").is_file():
            where, module = where / part, where / part / "__init__.py"
            continue
        if where.is_dir() and (where / f"{part}.py").is_file():
            where = module = where / f"{part}.py"
            continue
        defined = _defined(module)
        if part not in defined:
            return f"{module.relative_to(ROOT)} defines no {part!r}"
        node = defined[part]
        rest = parts[i + 1 :]
        if rest and isinstance(node, ast.ClassDef) and rest[0] not in _class_members(node):
            return f"{part} in {module.relative_to(ROOT)} has no member {rest[0]!r}"
        return None
    return None


def _references(path: Path) -> list[tuple[int, str]]:
    """Dotted code names in a doc's inline code: `harness.x.y`, and in docs/design.md
    also the short `results.load` form that starts with a package name."""
    short = path == DESIGN
    first = rf"(?:harness\.|(?:{'|'.join(PACKAGES)})\.)" if short else r"harness\."
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for code in re.findall(r"`([^`]+)`", line):
            match = re.match(rf"({first}[A-Za-z_][\w.]*\w)", code)
            if not match:
                continue
            dotted = match.group(1)
            if dotted.split(".")[-1] in FILE_SUFFIXES:
                continue
            if not dotted.startswith("harness."):
                dotted = f"harness.{dotted}"
            if dotted.split(".")[1] in NOT_CODE:
                continue
            found.append((number, dotted))
    return found


def test_the_docs_are_searched_for_code_names_at_all() -> None:
    names = {dotted for path in DOCS for _n, dotted in _references(path)}
    assert "harness.run.run" in names
    assert "harness.results.shapes.fields_checker" in names  # design.md's short form
    assert _problem("harness.results.nowhere") is not None
    assert _problem("harness.results.store.RunStore.nothing") is not None


def test_every_code_name_in_the_docs_exists() -> None:
    wrong = [
        f"{path.relative_to(ROOT)}:{number}: {dotted}: {problem}"
        for path in DOCS
        for number, dotted in _references(path)
        if (problem := _problem(dotted))
    ]
    assert wrong == [], "\n".join(wrong)
