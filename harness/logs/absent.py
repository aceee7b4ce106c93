"""Which figures a parsed log lacks, and why: said out loud instead of left as silent nulls.

A log pasted from logcat or a doc often lost a line (a grep, a cut paste), and
older releases never printed some figures. Either way the record must say
which figures are absent, so nobody reads a summary average as a full
statistics line.
"""

from __future__ import annotations

from harness.logs.verdict import COMPILED_MODEL_LOG
from harness.results.schema import Figures


def absent_figures(
    status: str, era: str | None, out: Figures, *, compiled_model: bool = False
) -> list[str]:
    """One sentence per group of absent figures of a run that did measure a latency
    (`compiled_model`: LiteRT's CompiledModel tool printed the log)."""
    if status != "ok":
        return []  # a failed run's error says what happened; listing absent figures adds noise
    warnings: list[str] = []
    if out.count is None:
        warnings.append(
            "count, min_us, max_us, std_us, p5_us, median_us, p95_us absent: no statistics "
            "line (count=...) for the regular runs; avg_us is the summary line's inference average"
        )
    elif out.p5_us is None:
        warnings.append(
            "p5_us, median_us, p95_us absent: the statistics line has no percentiles "
            "(older releases print none)"
        )
    if out.inference_avg_us is None:
        # init_us and first_us may still come from the session line and the warm-up.
        names = ("init_us", "first_us", "warmup_avg_us", "inference_avg_us")
        missing = ", ".join(name for name in names if getattr(out, name) is None)
        why = (
            f"{COMPILED_MODEL_LOG}; the figures come from its count= lines"
            if compiled_model
            else "no summary line (Inference timings in us / Average inference timings in "
            "us); the log was cut or filtered before it"
        )
        warnings.append(f"{missing} absent: {why}")
    no_memory = out.mem_init_mb is None and out.mem_overall_mb is None
    if era == "2020+" and no_memory and out.peak_mem_mb is None:
        why = (
            COMPILED_MODEL_LOG
            if compiled_model
            else "no memory footprint line (the tool prints none where it cannot read its "
            "RSS, e.g. on Windows, or the log was cut)"
        )
        warnings.append(f"mem_init_mb, mem_overall_mb absent: {why}")
    return warnings
