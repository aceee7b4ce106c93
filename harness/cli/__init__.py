"""The `harness` command line: a thin typer layer over plain functions.

Each subcommand lives in its own module under `harness.cli` and exposes
`register(app)`. This module is the one place where a `HarnessError` becomes
one line on stderr and an exit code; a traceback reaches the user only with
`--debug`.
"""

from __future__ import annotations

import importlib
import logging
import sys
from typing import Annotated

import typer

from harness import __version__
from harness.errors import EXIT_INPUT, HarnessError

# Subcommand modules, in the order `--help` lists them (the data's order).
COMMAND_MODULES = (
    "variants",
    "convert",
    "inspect_cmd",
    "devices",
    "fetch_binary",
    "clean",
    "run",
    "parse",
    "report",
    "baseline",
    "check",
    "trend",
    "sim",
)

app = typer.Typer(
    name="harness",
    help=(
        "Measure MobileNet latency on Android phones with TFLite's benchmark_model, "
        "beside the figures Google published for a Pixel 1, and gate regressions in CI."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_state = {"debug": False}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"harness {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Log every device call and show tracebacks.")
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log progress at info level.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    _state["debug"] = debug
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    logging.basicConfig(
        level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )


for _name in COMMAND_MODULES:
    importlib.import_module(f"harness.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, map HarnessError to an exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Without standalone mode click *returns* a typer.Exit's code instead of raising it.
        result = app(args=argv, standalone_mode=False)
    except HarnessError as exc:
        if debug:
            raise
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as exc:  # usage errors (click's, vendored or not) and the unexpected
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            show()
            return int(getattr(exc, "exit_code", 0) or EXIT_INPUT)
        if debug:
            raise
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug)", err=True)
        return 70
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
