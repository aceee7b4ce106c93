"""`harness run`: measure variants on phones; a thin layer over `harness.run.run`."""

from __future__ import annotations

import json
import math
import signal
import threading
from collections.abc import Hashable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from harness.bench import own_models
from harness.cli.arm_options import parse_arms
from harness.cli.sequential_options import parse_duration, parse_target, stop_notes
from harness.errors import OptionError, PlanError
from harness.logs.accelerator import SPELLINGS
from harness.results.summary import status_notes
from harness.selection import split_list
from harness.stages.settings import DEFAULTS, RANGES, RunSettings, ignored_on_resume
from harness.textsafe import echo
from harness.texttable import Column, draw

if TYPE_CHECKING:
    import pandas as pd

    from harness.run import RunOutcome


def _ints(values: list[str] | None, name: str) -> list[int]:
    try:
        return [int(v) for v in split_list(values)]
    except ValueError:
        raise PlanError(f"{name} takes whole numbers, got {', '.join(values or [])}") from None


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    try:
        return format(float(value), spec)
    except (TypeError, ValueError):
        return str(value)


def summary_table(summary: pd.DataFrame) -> str:
    """The end-of-run table: median, spread between trials, the published Pixel-1 figure, ratio."""
    several = summary["device_serial"].nunique() > 1
    units = "accelerator" in summary.columns and bool((summary["accelerator"] != "cpu").any())
    head = ["variant", "quant", "thr", "cores", "xnnpack", "ok/n", "median ms", "p5-p95 ms"]
    head += ["cv %", "pixel1 ms", "ratio", "status"]
    stops = "stop_reason" in summary.columns  # sequential trials: why each got no more
    if stops:
        head.append("stopped")
    if units:
        head[5:5] = ["unit", "delegated"]
    # Energy per inference, when the run read it (`--energy`).
    energy = "energy_trials" in summary.columns and bool((summary["energy_trials"] > 0).any())
    if energy:
        head += ["mJ/inf", "p5-p95 mJ"]
    if several:
        head.insert(0, "device")
    rows = []
    for r in summary.to_dict(orient="records"):
        row = [
            str(r["variant"]),
            str(r["quant"]),
            str(r["threads"]),
            str(r["cores"]),
            str(r["xnnpack"]),
            f"{r['n_ok']}/{r.get('n_planned', r['n_trials'])}",
            _fmt(r.get("median_ms"), ".2f"),
            f"{_fmt(r.get('p5_ms'), '.2f')}-{_fmt(r.get('p95_ms'), '.2f')}",
            _fmt(None if r.get("cv") is None else 100 * float(r["cv"]), ".1f"),
            _fmt(r.get("published_ms"), ".1f"),
            _fmt(r.get("ratio"), ".2f"),
            str(r.get("status")),
        ]
        if stops:
            stop = r.get("stop_reason")
            row.append(stop if isinstance(stop, str) else "-")
        if units:
            row[5:5] = [str(r["accelerator"]), delegated(r)]
        if energy:
            row += [
                _fmt(r.get("energy_median_mj"), ".3f"),
                f"{_fmt(r.get('energy_p5_mj'), '.3f')}-{_fmt(r.get('energy_p95_mj'), '.3f')}",
            ]
        if several:
            row.insert(0, str(r.get("device_model") or r["device_serial"]))
        rows.append(row)
    # Single figures right-aligned, the rest left, as `harness check` draws its table.
    figures = {"median ms", "cv %", "pixel1 ms", "ratio", "mJ/inf"}
    columns = [Column(h, "right" if h in figures else "left") for h in head]
    return "\n".join(draw(columns, rows))


def delegated(row: Mapping[Hashable, Any]) -> str:
    """What the unit took, for the table: `63/65 partial`, `65/65`, `fallback`, `-`."""
    verdict = row.get("delegation")
    if row.get("accelerator") == "cpu" or not isinstance(verdict, str):
        return "-"
    nodes, total = row.get("delegated_nodes"), row.get("total_nodes")
    counted = f"{nodes}/{total}" if _known(nodes) and _known(total) else ""
    if verdict == "applied":
        return counted or verdict
    return f"{counted} {verdict}".strip()


def _known(value: Any) -> bool:
    import pandas as pd

    return not pd.isna(value)


def _print_outcome(outcome: RunOutcome, as_json: bool) -> None:
    if as_json:
        echo(json.dumps(outcome.to_dict(), indent=2, allow_nan=False))
        return
    if outcome.summary is not None and len(outcome.summary):
        echo(summary_table(outcome.summary))
        for note in status_notes(outcome.summary):
            echo(note)
        for note in stop_notes(outcome.summary):
            echo(note)
    for note in outcome.caveats:
        echo(f"note: {note}")
    missing = sum(outcome.missing.values())
    gone = ""
    if missing:
        counts = ", ".join(f"{d}: {n}" for d, n in outcome.missing.items())
        gone = f", {missing} missing ({counts})"
    echo(
        f"\n{outcome.trials_total} trial(s), {outcome.trials_failed} not ok{gone}; "
        f"run {outcome.status}: {outcome.run_dir}"
    )
    if outcome.report:
        echo(f"report: {outcome.report}")
    if outcome.resume_command:
        echo(f"continue with: {outcome.resume_command}")


def run_cmd(
    device: Annotated[
        list[str] | None,
        typer.Option(
            "--device",
            "-d",
            metavar="DEVICE",
            help="Serial, SERIAL@HOST:PORT, HOST:PORT, model/product name, alias, `all`, "
            "pool:NAME[*N] (free phones of a pool), or `sim` (starts a simulated Pixel 1). "
            "Repeat for several devices, run in parallel.",
        ),
    ] = None,
    variants: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LIST",
            help="Variants: ids, globs or short forms (v2:1.0_*); default: all MobileNetV2 "
            "(with --model: none).",
        ),
    ] = None,
    quant: Annotated[
        list[str] | None,
        typer.Option(metavar="LIST", help="fp32, int8, dynamic, fp16 (comma list); default: fp32."),
    ] = None,
    threads: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LIST",
            help=f"Thread counts (comma list), each {RANGES['threads']}; default: 1, as published.",
        ),
    ] = None,
    cores: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LIST",
            help="Core policies: big, prime, little, all, or a hex mask; default: big.",
        ),
    ] = None,
    trials: Annotated[
        int,
        typer.Option(help=f"Separate processes per configuration, {RANGES['trials']}."),
    ] = DEFAULTS.trials,
    runs: Annotated[
        int, typer.Option(help=f"Timed runs per trial (--num_runs), {RANGES['runs']}.")
    ] = DEFAULTS.runs,
    warmup: Annotated[
        int, typer.Option(help=f"Warm-up runs per trial (--warmup_runs), {RANGES['warmup']}.")
    ] = DEFAULTS.warmup,
    xnnpack: Annotated[
        str,
        typer.Option(help="on, off, both, or default (pass no flag; recorded as `default`)."),
    ] = DEFAULTS.xnnpack,
    cooldown_temp: Annotated[
        float,
        typer.Option(
            help="Wait before each trial until the hottest CPU zone (or battery) is below "
            f"this, {RANGES['cooldown_temp_c']}; 0 turns the wait off."
        ),
    ] = DEFAULTS.cooldown_temp_c or 0.0,
    cooldown_timeout: Annotated[
        float,
        typer.Option(
            help="Longest cooldown wait per trial, "
            f"{RANGES['cooldown_timeout_s']}; then measure anyway."
        ),
    ] = DEFAULTS.cooldown_timeout_s,
    op_profile: Annotated[
        bool,
        typer.Option(help="Afterwards, one op-profiling pass per configuration, stored apart."),
    ] = DEFAULTS.op_profile,
    out: Annotated[
        Path,
        typer.Option(
            "--out", "-o", help="Folder: each run writes its run folder OUT/<run_id> in it."
        ),
    ] = DEFAULTS.out,
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue RUN_DIR: skip stored trials, reuse its seed and settings."),
    ] = None,
    benchmark_binary: Annotated[
        list[str] | None,
        typer.Option(
            metavar="[LABEL=]PATH",
            help="benchmark_model to push (default: the one the device layer finds). "
            'LABEL=PATH makes an A/B arm; repeat for each arm (docs/run.md "A/B runs").',
        ),
    ] = None,
    arm_models: Annotated[
        list[str] | None,
        typer.Option(
            metavar="[LABEL=]DIR",
            help="A/B runs: an arm's own conversion of the selected variants instead of "
            "ours: DIR holds ID.tflite (fp32) or ID-QUANT.tflite per variant. Unlabelled: "
            "every arm's. (To measure a model of your own, use --model.)",
        ),
    ] = None,
    models_alias: Annotated[
        list[str] | None,
        typer.Option("--models", hidden=True, help="The old spelling of --arm-models."),
    ] = None,
    adb_server: Annotated[
        list[str] | None,
        typer.Option(
            help="HOST:PORT of an adb server (default: local); repeat for a lab's "
            "several servers (or [defaults] adb_servers)."
        ),
    ] = None,
    wait_for_device: Annotated[
        float | None,
        typer.Option(
            help="Wait up to this long for a phone another run has leased, "
            f"{RANGES['wait_for_device_s']} (default: exit 3 at once, naming the holder)."
        ),
    ] = None,
    reconnect_timeout: Annotated[
        float,
        typer.Option(
            help=f"How long to wait for a device that went away, {RANGES['reconnect_timeout_s']}."
        ),
    ] = DEFAULTS.reconnect_timeout_s,
    trial_timeout: Annotated[
        float,
        typer.Option(help=f"Kill a trial that runs longer than this, {RANGES['trial_timeout_s']}."),
    ] = DEFAULTS.trial_timeout_s,
    seed: Annotated[
        int | None,
        typer.Option(
            help=f"Seed of the trial order, {RANGES['seed']} (default: random, recorded)."
        ),
    ] = None,
    fixed_performance: Annotated[
        bool, typer.Option(help="Enable Android 11+ fixed performance mode during the run.")
    ] = DEFAULTS.fixed_performance,
    report: Annotated[bool, typer.Option(help="Write RUN_DIR/report.html.")] = DEFAULTS.report,
    label: Annotated[
        str | None,
        typer.Option(
            help="What this run measured: a release, commit or build number, stored in "
            "meta.json; the report's History labels runs by it (default: git describe of "
            "the current folder when it is a git checkout, else none)."
        ),
    ] = DEFAULTS.label,
    until_confident: Annotated[
        bool,
        typer.Option(
            help="After the planned trials, add trials to each configuration whose median is "
            "not within --target-ci (always-valid 99% bounds) or that is noisy, round by "
            "round, until it is, --max-trials is reached or --budget runs out."
        ),
    ] = DEFAULTS.until_confident,
    target_ci: Annotated[
        str,
        typer.Option(
            metavar="PCT",
            help="With --until-confident: the half-width of the interval on the median to "
            f"reach, as 2% or 0.02, {RANGES['target_ci']}.",
        ),
    ] = f"{DEFAULTS.target_ci:.0%}",
    budget: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            help="With --until-confident or --until-decided: phone time per device (the "
            "trials' wall time) the run may take; an added trial starts only if it should end "
            f"within it: 90s, 15m, 1h30m or seconds, {RANGES['budget_s']} (default: no limit).",
        ),
    ] = None,
    max_trials: Annotated[
        int,
        typer.Option(
            help="With --until-confident: the most trials a configuration gets; with "
            f"--until-decided: the most pairs, {RANGES['max_trials']}."
        ),
    ] = DEFAULTS.max_trials,
    more: Annotated[
        list[str] | None,
        typer.Option(
            metavar="CONFIGS",
            help="With --resume and --until-confident: measure these configurations of the "
            "run again (comma list of keys, as `harness check --json` lists them under "
            "inconclusive) on the same phones, a new pass with its own --budget.",
        ),
    ] = None,
    until_decided: Annotated[
        bool,
        typer.Option(
            help="A/B run of two arms: after the planned trials, add ABBA blocks to each "
            "configuration until arm B is slower, faster or within --equivalence of arm A "
            "(group sequential 99% bounds on the pairs), --max-trials pairs or --budget."
        ),
    ] = DEFAULTS.until_decided,
    equivalence: Annotated[
        str,
        typer.Option(
            metavar="PCT",
            help="With --until-decided: the margin within which the arms are equivalent, "
            f"as 2% or 0.02, {RANGES['equivalence']}.",
        ),
    ] = f"{DEFAULTS.equivalence:.0%}",
    accelerator: Annotated[
        list[str] | None,
        typer.Option(
            metavar="LIST",
            help=f"Compute units (comma list): {SPELLINGS}; each trial proves from its "
            "own log which delegate ran it. npu needs LiteRT's CompiledModel benchmark_model "
            "(--benchmark-binary), which runs npu alone. Default: cpu.",
        ),
    ] = None,
    allow_fallback: Annotated[
        bool,
        typer.Option(
            help="A trial whose delegate fell back to the CPU stays ok (with a warning) "
            "instead of `fallback`."
        ),
    ] = DEFAULTS.allow_fallback,
    model: Annotated[
        list[str] | None,
        typer.Option(
            metavar="[LABEL=]PATH",
            help="A .tflite of your own to measure, under LABEL (default: the file's name); "
            "repeatable. Instead of the catalogue's variants, or beside those --variants names.",
        ),
    ] = None,
    energy: Annotated[
        bool,
        typer.Option(
            "--energy",
            help="Read energy per inference in every trial, from the phone's power rails "
            '(Pixel 6 and later) or its fuel gauge while on battery (docs/run.md "Energy").',
        ),
    ] = DEFAULTS.energy,
    energy_on_usb: Annotated[
        bool,
        typer.Option(
            "--energy-on-usb",
            help="With --energy: measure through the fuel gauge though a charger powers the "
            "phone; every figure is marked biased.",
        ),
    ] = DEFAULTS.energy_on_usb,
    energy_rails: Annotated[
        list[str] | None,
        typer.Option(
            metavar="NAMES",
            help="With --energy: only these power rails (comma list, as the phone names "
            "them); default: all.",
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the outcome as JSON.")] = False,
) -> None:
    """Measure the chosen variants on phones; print a summary beside the Pixel-1 column."""
    devices = split_list(device)
    if device and not devices:  # `--device ''` names no phone, even with --resume
        raise OptionError("--device selects nothing", option="--device")
    if not devices and resume is None:
        raise PlanError("--device is required (a serial, HOST:PORT, a name, `all` or `sim`)")
    default_binary, arms = parse_arms(
        benchmark_binary or [], [*(arm_models or []), *(models_alias or [])]
    )
    own = [own_models.spec(m) for m in model or []]
    if variants is not None and not split_list(variants) and own:
        raise OptionError("--variants selects nothing", option="--variants")
    # An option given empty (`--quant ''`) is kept empty, to be refused by the settings.
    settings = RunSettings(
        devices=devices,
        # Own models without --variants are measured instead of the catalogue's variants.
        variants=split_list(variants) if variants else [] if own else list(DEFAULTS.variants),
        quants=split_list(quant) if quant else list(DEFAULTS.quants),
        threads=_ints(threads, "--threads") if threads else list(DEFAULTS.threads),
        cores=split_list(cores) if cores else list(DEFAULTS.cores),
        trials=trials,
        runs=runs,
        warmup=warmup,
        xnnpack=xnnpack,
        cooldown_temp_c=cooldown_temp,
        cooldown_timeout_s=cooldown_timeout,
        op_profile=op_profile,
        out=out,
        resume=resume,
        benchmark_binary=Path(default_binary) if default_binary else None,
        adb_server=adb_server,
        wait_for_device_s=wait_for_device,
        reconnect_timeout_s=reconnect_timeout,
        trial_timeout_s=trial_timeout,
        seed=seed,
        fixed_performance=fixed_performance,
        report=report,
        label=label,
        arms=arms,
        until_confident=until_confident,
        target_ci=parse_target(target_ci),
        budget_s=parse_duration(budget) if budget is not None else None,
        max_trials=max_trials,
        more=split_list(more),
        until_decided=until_decided,
        equivalence=parse_target(equivalence, "--equivalence"),
        accelerators=split_list(accelerator) if accelerator else list(DEFAULTS.accelerators),
        allow_fallback=allow_fallback,
        own_models=own,
        energy=energy,
        energy_on_usb=energy_on_usb,
        energy_rails=split_list(energy_rails),
    )
    if more is not None and not settings.more:
        raise OptionError("--more selects nothing", option="--more")
    if resume is not None:
        ignored = ignored_on_resume(settings)
        if ignored:
            _emit(
                f"warning: {', '.join(ignored)} ignored: --resume measures with the "
                "run's own settings and seed"
            )
    # harness.run loads the device stack, and harness.device.adb checks the adb environment
    # as it loads: its error must reach the CLI's one-line handler (see harness.cli).
    from harness.run import run

    try:
        with _sigterm_as_interrupt():
            outcome = run(settings, emit=_emit)
    except Terminated:
        _emit("terminated (SIGTERM)")
        raise typer.Exit(EXIT_SIGTERM) from None
    _print_outcome(outcome, as_json)
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


def register(app: typer.Typer) -> None:
    """Add `harness run` to the app."""
    app.command("run")(run_cmd)


# What a shell reports for a process ended by SIGTERM (128 + 15), which CI
# runners and `timeout` send; Ctrl-C is 130 (harness.cli maps KeyboardInterrupt).
EXIT_SIGTERM = 143


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived: unwind exactly as Ctrl-C does (record, clean up), then exit 143."""


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Turn the first SIGTERM into Terminated in the main thread; ignore repeats while
    the run cleans up (a second one must not cut the cleanup short)."""

    def handler(_signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread may set handlers (tests drive the CLI from others)
        return
    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _emit(message: str) -> None:
    echo(message, err=True)
