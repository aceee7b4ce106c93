"""`harness run --energy` without a phone: its options, the record's fields, the summary.

The phone's side (the source chosen, the figures against the power model's
truth) is tests/integration/test_run_energy.py.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from harness.bench.energy_record import with_energy
from harness.bench.remote import Collected, TrialState
from harness.cli import main
from harness.cli.run import summary_table
from harness.device.energy import EnergyRequest, Rail
from harness.errors import OptionError
from harness.results import RunStore, load, summarize
from harness.results.meta import RunMeta
from harness.results.summary import status_notes
from harness.stages.settings import RunSettings, settings_from_meta

from .test_results_store import make_meta, make_record

VARIANT = "mobilenet_v2_0.35_96"


@pytest.mark.parametrize(
    ("changes", "option"),
    [
        ({"energy_on_usb": True}, "--energy-on-usb"),
        ({"energy_rails": ["S2M_VDD_CPUCL2"]}, "--energy-rails"),
        ({"energy": True, "energy_rails": ["CPU;reboot"]}, "--energy-rails"),
    ],
)
def test_energy_options_are_checked_before_any_phone(
    changes: dict[str, object], option: str
) -> None:
    settings = RunSettings(devices=["sim"], variants=[VARIANT], **changes)  # type: ignore[arg-type]
    with pytest.raises(OptionError) as caught:
        settings.validate()
    assert caught.value.option == option


def test_an_energy_option_without_energy_is_exit_2_on_the_command_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["run", "--device", "nowhere", "--energy-rails", "S2M_VDD_CPUCL2"])
    assert code == 2
    assert "--energy-rails needs --energy" in capsys.readouterr().err


def test_a_resumed_run_measures_energy_as_it_began() -> None:
    stored = RunMeta.from_dict({
        "seed": 1,
        "settings": {
            "variants": [VARIANT], "quants": ["fp32"], "threads": [1], "cores": ["big"],
            "trials": 2, "runs": 7, "warmup": 2, "devices": ["sim"], "energy": True,
            "energy_on_usb": True, "energy_rails": ["S2M_VDD_CPUCL2"],
        },
    })  # fmt: skip
    merged = settings_from_meta(stored, RunSettings(devices=[], resume=Path("x")))
    assert (merged.energy, merged.energy_on_usb, merged.energy_rails) == (
        True,
        True,
        ["S2M_VDD_CPUCL2"],
    )
    # A run stored before energy existed resumes without it.
    older = RunMeta.from_dict({**stored.to_dict(), "settings": {
        k: v for k, v in stored.settings.to_dict().items() if not k.startswith("energy")
    }})  # fmt: skip
    assert settings_from_meta(older, RunSettings(devices=[], resume=Path("x"))).energy is False


ODPM = EnergyRequest("odpm", rails=(Rail(0, "S2M_VDD_CPUCL2"),))
GAUGE_ON_USB = EnergyRequest("fuel_gauge", on_usb=True)


def test_a_trial_without_energy_asked_keeps_no_energy_fields() -> None:
    record = make_record("r", 0)
    assert with_energy(record, Collected(TrialState("done", exit_code=0)), None) is record


def test_a_failed_trial_keeps_no_energy_and_says_why() -> None:
    record = make_record("r", 0, status="failed", latency_ms=None)
    got = with_energy(record, Collected(TrialState("done", exit_code=1)), GAUGE_ON_USB)
    assert got.energy_mj is None and got.energy_reason == "the trial is failed"
    assert got.energy_source == "fuel_gauge" and got.energy_biased is True


def test_a_trial_whose_looks_are_missing_says_so() -> None:
    record = make_record("r", 0)
    stdout = (
        "INFO: Running benchmark for at least 5 iterations and at least 0 seconds\n"
        "INFO: Running benchmark for at least 50 iterations and at least 0 seconds\n"
        "count=50 first=1000 curr=1000 min=900 max=1100 avg=1000 std=10\n"
    )
    got = with_energy(
        record, Collected(TrialState("done", exit_code=0), stdout=stdout, samples=""), ODPM
    )
    assert got.energy_mj is None and got.energy_source == "odpm" and got.energy_biased is False
    assert got.energy_reason and "no power rail readings" in got.energy_reason


def _energy_run(tmp_path: Path, energies: list[float | None], biased: bool = False) -> RunStore:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-e"))
    for i, mj in enumerate(energies):
        record = make_record("run-e", i, latency_ms=70.0 + i)
        store.append(
            dataclasses.replace(
                record,
                energy_mj=mj,
                power_mw=None if mj is None else mj * 100,
                idle_power_mw=400.0,
                energy_source="fuel_gauge" if biased else "odpm",
                energy_rails=None if biased else "S2M_VDD_CPUCL2,S3M_VDD_CPUCL1",
                energy_rail_mj=None if biased or mj is None else {"S2M_VDD_CPUCL2": mj},
                energy_biased=biased,
                energy_reason=None if mj is not None else "the timed runs ended too soon",
            )
        )
    return store


def test_the_summary_gives_energys_median_and_interval_like_latency(tmp_path: Path) -> None:
    store = _energy_run(tmp_path, [2.0, 3.0, 4.0, None])
    summary = summarize(load(store.run_dir))
    (row,) = summary.to_dict(orient="records")
    assert row["energy_trials"] == 3 and row["energy_source"] == "odpm"
    assert row["energy_median_mj"] == 3.0
    assert row["energy_p5_mj"] == pytest.approx(2.1) and row["energy_p95_mj"] == pytest.approx(3.9)
    assert row["power_median_mw"] == 300.0 and row["idle_median_mw"] == 400.0
    assert row["energy_biased_trials"] == 0
    table = summary_table(summary).splitlines()
    assert "mJ/inf" in table[0] and "3.000" in table[2] and "2.100-3.900" in table[2]
    assert not any(n.startswith("biased") for n in status_notes(summary))
    # The dict column reads back as a dict from the parquet table too.
    store.finalize()
    trials = load(store.run_dir)
    assert trials["energy_rail_mj"].iloc[0] == '{"S2M_VDD_CPUCL2": 2.0}'


def test_biased_energy_is_named_under_the_table(tmp_path: Path) -> None:
    summary = summarize(load(_energy_run(tmp_path, [2.0, 2.5], biased=True).run_dir))
    assert summary["energy_biased_trials"].iloc[0] == 2
    (note,) = [n for n in status_notes(summary) if n.startswith("biased")]
    assert "--energy-on-usb" in note and "Wi-Fi" in note


def test_a_run_without_energy_has_no_energy_column(tmp_path: Path) -> None:
    store = RunStore.create(tmp_path / "results", make_meta(run_id="run-n"))
    store.append(make_record("run-n", 0))
    summary = summarize(load(store.run_dir))
    assert summary["energy_trials"].iloc[0] == 0 and summary["energy_median_mj"].isna().all()
    assert "mJ/inf" not in summary_table(summary)
    assert not [n for n in status_notes(summary) if "energy" in n]
