"""The `harness` command line: a thin typer layer over plain functions.

Each subcommand lives in its own module under `harness.cli` and exposes
`register(app)`. This module is the one place where a `HarnessError` becomes
one line on stderr and an exit code; a traceback reaches the user only with
`--debug`.

Every command module is imported at start-up, so each imports the device
stack, `harness.compare` and `harness.report` inside its command function:
`harness.device.adb` checks ANDROID_ADB_SERVER_HOST/PORT as it loads (before
adbutils reads them), and that error must come from inside a command, as one
line; compare and report bring pandas, scipy, jinja2 and matplotlib.
"""

from __future__ import annotations

import functools
import gc
import importlib
import logging
import sys
from typing import Annotated, Any

import typer

from harness import __version__
from harness.cli.helptext import hide_aliases, plain_metavars
from harness.cli.paths import refuse_empty_paths
from harness.errors import (
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_UNEXPECTED,
    HarnessError,
    from_os_error,
)
from harness.textsafe import PrintableFormatter, echo, one_line

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
    rich_markup_mode=None,  # plain click layout: see harness.cli.helptext
)


def _version(value: bool) -> None:
    if value:
        echo(f"harness {__version__}")
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
    level = logging.DEBUG if debug else logging.INFO if verbose else logging.WARNING
    handler = logging.StreamHandler(sys.stderr)
    # Debug logs quote device output verbatim: printable, like every other line.
    handler.setFormatter(PrintableFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=level, handlers=[handler])


for _name in COMMAND_MODULES:
    importlib.import_module(f"harness.cli.{_name}").register(app)


@functools.lru_cache(maxsize=1)
def command() -> Any:
    """The click command `main` runs: the app, with words for metavars and old option
    spellings left out of `--help` (see helptext), and path parameters that refuse an
    empty value (see paths)."""
    cmd = typer.main.get_command(app)
    plain_metavars(cmd)
    hide_aliases(cmd)
    refuse_empty_paths(cmd)
    return cmd


def _usage_line(exc: Exception) -> str:
    """A click usage error as one line, naming the command whose --help explains it."""
    message = str(getattr(exc, "format_message", lambda: str(exc))())
    ctx = getattr(exc, "ctx", None)
    path = getattr(ctx, "command_path", None) or "harness"
    return f"error: {message} (see `{path} --help`)"


def _error(line: str) -> None:
    """The one way an error reaches the user: one bounded, printable line on stderr."""
    echo(one_line(line), err=True)


def console() -> int:
    """The `harness` command (pyproject's console script): `main`, for a process that ends.

    The process's objects are then frozen out of the collector: Python's exit
    would otherwise collect them one by one, ~0.3 s with pandas loaded, at the
    end of every command; the OS frees them at once. `main` stays the entry for
    callers in a longer-lived process (tests, scripts), which must keep collecting.
    """
    code = main()
    gc.freeze()
    return code


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, map every failure to one line and an exit code.

    0/1 come from the command; `HarnessError`s carry 2 (input) or 3 (device or
    environment); an `OSError` that escaped is one of those too (`from_os_error`);
    anything else is a bug: 70, with the traceback behind `--debug`.
    """
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Without standalone mode click *returns* a typer.Exit's code instead of raising it.
        result = command()(args=argv, standalone_mode=False)
    except HarnessError as exc:
        if debug:
            raise
        _error(f"error: {exc}")
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        echo("aborted", err=True)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        echo("interrupted", err=True)
        return EXIT_INTERRUPTED
    except OSError as exc:
        if debug:
            raise
        error = from_os_error(exc)
        _error(f"error: {error}")
        return error.exit_code
    except Exception as exc:  # usage errors (click's, vendored or not) and the unexpected
        show = getattr(exc, "show", None)
        if callable(show) and hasattr(exc, "exit_code"):
            if type(exc).__name__ == "NoArgsIsHelpError":
                ctx = getattr(exc, "ctx", None)  # a bare `harness baseline`: the help is the
                if ctx is not None:  # answer, on stdout as `--help` prints it
                    echo(ctx.get_help())
                else:
                    show()
            else:
                _error(_usage_line(exc))
            return int(getattr(exc, "exit_code", 0) or EXIT_INPUT)
        if debug:
            raise
        _error(f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug)")
        return EXIT_UNEXPECTED
    return result if isinstance(result, int) and not isinstance(result, bool) else 0


if __name__ == "__main__":
    sys.exit(main())
