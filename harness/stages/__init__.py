"""`harness run` as five visible stages: devices -> plan -> prepare -> measure -> finish.

Each stage is one module with a function whose typed input is the previous
stage's output; `harness.run.run` only strings them together and owns the
one place where an interrupted run is marked and left resumable.

- `settings`: `RunSettings`, the one home of the run's defaults and bounds;
  `checked` validates them once (a resumed run's own) into `Checked`.
- `devices`: the run's phones, started (`sim`), found and leased, then released.
- `plan`: open a resumed run folder, convert the models, and order the
  trials (the one `Plan`).
- `prepare`: ready every device in parallel, create (or check) the run folder.
- `measure`: one trial runner per device, the plan, the op profiles.
- `finish`: the summary, the report, the exit code and the resume command.
"""
