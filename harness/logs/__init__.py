"""Reading benchmark_model output: lines, figures, delegation, op tables, verdicts.

This package reads benchmark_model output of any era and wrapper; it knows
nothing of devices. It imports nothing from `harness.bench`, `harness.device`
or `harness.stages`, so a log pasted from logcat, a file on disk and a trial
pulled from a phone are read by the same code. `harness.bench` runs trials and
calls `harness.logs.parser.parse` on what they printed.

- `parser`: `parse`, `parse_files`, `parse_lines` -> `ParsedOutput`.
- `lineforms`: the line forms every release has printed, and `normalise`.
- `scan`: a file read in blocks, only the lines that hold a keyword.
- `figures`: `ParsedOutput`, `PhaseStats`, the `Era` names.
- `delegates`: what a run printed about each delegate (`DelegationEvidence`).
- `proof`: `DelegationProof` and its `Verdict`, the record a parsed log carries.
- `delegation`: `prove(parsed, accelerator) -> DelegationProof`, the verdict on
  what ran the run against the compute unit asked for (`accelerator`: the
  units' spellings).
- `optable`, `absent`, `verdict`: op-profile tables, figures a log lacks, and
  the status a log earns.
"""
