"""`harness run --energy` on the simulated phones, against their power model's truth.

The whole run path (options, preparation, trials, records, summary, meta.json)
with energy asked for: the Pixel 6 reads its power rails, the Pixel 1 its
fuel gauge only when unplugged; on USB power it is refused before any trial,
unless `--energy-on-usb` accepts the bias, which every record then states.
What the power model charged each trial's timed runs
(`SimDevice.power.processes()`) is the truth. Long timed phases keep the
figure clear of the edges and of the gauge's 1 uAh steps; how fast the host
runs the model changes only how long they last.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from harness.cli import main
from harness.errors import EnergyOnUsbError
from harness.results.load import load
from harness.run import RunSettings, run
from harness.sim import SimDevice, profiles

pytestmark = [pytest.mark.integration, pytest.mark.slow]

VARIANT = "mobilenet_v2_0.35_96"


def _settings(serial: str, out: Path, **kwargs: Any) -> RunSettings:
    return RunSettings(
        devices=[serial], variants=[VARIANT], warmup=5, cooldown_temp_c=0, report=False,
        out=out, energy=True, **kwargs,
    )  # fmt: skip


def _records(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "trials.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted((json.loads(line) for line in lines), key=lambda r: r["started_at"])


def _truths_mj(dev: SimDevice, records: list[dict[str, Any]], runs: int) -> list[float]:
    """What the model charged each record's benchmark process for its timed runs, per run.

    A record's process is the last one that started within the trial's span (a
    trial launched again after its first process vanished has two): the ledger's
    start is this host's monotonic clock, the record's span its wall clock.
    """
    timed = [p for p in dev.power.processes() if p.cpu_ns_by_phase.get("timed", 0) > 0]
    wall_minus_mono = time.time() - time.monotonic()
    truths = []
    for record in records:
        began = datetime.fromisoformat(record["started_at"]).timestamp()
        ended = datetime.fromisoformat(record["finished_at"]).timestamp()
        ours = [p for p in timed if began - 0.5 <= p.start / 1e9 + wall_minus_mono <= ended]
        assert ours, (record["trial_id"], [p.start for p in timed])
        truths.append(ours[-1].uws_by_phase["timed"] / 1000 / runs)
    return truths


def test_pixel6_run_records_each_trials_rail_energy(
    make_sim, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dev = make_sim(profile="pixel6")
    runs = 9000  # long beside the sampler's bracket (test_energy_trial._close)
    outcome = run(_settings(dev.serial, tmp_path, trials=2, runs=runs))
    assert outcome.status == "complete" and outcome.exit_code == 0, outcome
    records = _records(outcome.run_dir)
    rails = [r.name for r in profiles.PIXEL6_POWER.rails]
    for record, truth in zip(records, _truths_mj(dev, records, runs), strict=True):
        assert record["energy_reason"] is None, record["energy_reason"]
        assert record["energy_source"] == "odpm" and record["energy_biased"] is False
        assert record["energy_mj"] == pytest.approx(truth, rel=0.05), record
        assert record["energy_rails"].split(",") == rails
        assert sum(record["energy_rail_mj"].values()) == pytest.approx(record["energy_mj"])
        assert record["idle_power_mw"] == pytest.approx(
            profiles.PIXEL6_POWER.idle_mw() - 350, rel=1e-3
        )
        assert record["power_mw"] > 0
    meta = json.loads((outcome.run_dir / "meta.json").read_text(encoding="utf-8"))
    assert meta["settings"]["energy"] is True
    setup = meta["energy"][dev.serial]
    assert setup["source"] == "odpm" and setup["rails"] == rails
    assert setup["subsystems"]["S2M_VDD_CPUCL2"] == "CPU(BIG)"
    # The summary reduces energy as it reduces latency, and reads back from the folder.
    assert outcome.summary is not None
    (row,) = outcome.summary.to_dict(orient="records")
    energies = sorted(r["energy_mj"] for r in records)
    assert row["energy_trials"] == 2 and row["energy_source"] == "odpm"
    assert row["energy_p5_mj"] <= row["energy_median_mj"] <= row["energy_p95_mj"]
    assert row["energy_median_mj"] == pytest.approx(sum(energies) / 2)
    # The folder reads back with its energy (the parquet tables written at the end too).
    trials = load(outcome.run_dir).sort_values("started_at")
    assert list(trials["energy_mj"]) == [r["energy_mj"] for r in records]
    assert list(trials["energy_source"]) == ["odpm", "odpm"]
    # The baseline keeps energy, and check judges it beside latency.
    baseline = tmp_path / "baseline.json"
    assert main(["baseline", "save", str(outcome.run_dir), "-o", str(baseline)]) == 0
    (config,) = json.loads(baseline.read_text(encoding="utf-8"))["configs"]
    assert sorted(config["energy_mj"]) == energies
    capsys.readouterr()
    code = main(["check", "--baseline", str(baseline), "--current", str(outcome.run_dir), "--json"])
    assert code == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["quantity"] for r in rows] == ["latency", "energy"]
    # Other rails measure something else: check refuses their energy, judges latency.
    narrow = run(_settings(dev.serial, tmp_path / "narrow", trials=1, runs=2000,
                           energy_rails=["S2M_VDD_CPUCL2"]))  # fmt: skip
    code = main(["check", "--baseline", str(baseline), "--current", str(narrow.run_dir), "--json"])
    assert code == 2
    latency, energy = json.loads(capsys.readouterr().out)["rows"]
    assert not latency["refused"] and energy["refused"] and energy["verdict"] == "inconclusive"
    assert "energy rails: baseline" in energy["reason"]
    # The report: an energy column, the chart, and the phone's rails with what they feed.
    page = tmp_path / "report.html"
    assert main(["report", str(outcome.run_dir), "-o", str(page)]) == 0
    doc = lxml.html.fromstring(page.read_text(encoding="utf-8"))
    heads = [
        th.text_content().strip() for th in doc.xpath("//table[@class='sortable variants']//th")
    ]
    assert "mJ / inference" in heads
    cell = doc.xpath("//table[@class='sortable variants']/tbody/tr/td")[
        heads.index("mJ / inference")
    ]
    # The sort key is the median as the report prints numbers: 6 significant digits.
    assert cell.get("data-value") == f"{row['energy_median_mj']:g}"
    shown = [
        [td.text_content().strip() for td in tr.findall("td")[:2]]
        for tr in doc.xpath("//table[@class='sortable rails']/tbody/tr")
    ]
    assert shown == [[r.name, r.subsystem] for r in profiles.PIXEL6_POWER.rails]
    assert doc.xpath("//figure[@data-chart='dev1-energy']")


def test_pixel6_rails_narrowed_and_one_missing_refused(make_sim, tmp_path: Path) -> None:
    dev = make_sim(profile="pixel6")
    big = ["S2M_VDD_CPUCL2", "S3M_VDD_CPUCL1"]
    outcome = run(_settings(dev.serial, tmp_path, trials=1, runs=2000, energy_rails=big))
    (record,) = _records(outcome.run_dir)
    assert record["energy_rails"].split(",") == big and record["energy_mj"] > 0
    # A rail the phone lacks: exit 2 before any trial, the phone's own rails named.
    code = main(
        ["run", "--device", dev.serial, "--variants", VARIANT, "--energy", "--energy-rails",
         "S2M_VDD_CPUCL2,NO_SUCH_RAIL", "--cooldown-temp", "0", "--no-report", "--out",
         str(tmp_path / "refused")]
    )  # fmt: skip
    assert code == 2
    assert not (tmp_path / "refused").exists() or not any((tmp_path / "refused").iterdir())


def test_pixel1_on_usb_is_refused_before_any_trial(
    sim: SimDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(EnergyOnUsbError):
        run(_settings(sim.serial, tmp_path / "api", trials=1, runs=20))
    assert not (tmp_path / "api").exists() or not any((tmp_path / "api").iterdir())
    capsys.readouterr()
    code = main(
        ["run", "--device", sim.serial, "--variants", VARIANT, "--energy", "--cooldown-temp", "0",
         "--no-report", "--out", str(tmp_path / "cli")]
    )  # fmt: skip
    assert code == 3
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "external power" in errors[0] and "Wi-Fi" in errors[0], errors
    assert not any(p.name == "trials.jsonl" for p in tmp_path.rglob("*"))
    assert not any(p.cpu_ns_by_phase.get("timed") for p in sim.power.processes())


def test_pixel1_on_usb_accepted_is_biased_in_every_record(
    sim: SimDevice, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", "--device", sim.serial, "--variants", VARIANT, "--trials", "2", "--runs", "200",
         "--energy", "--energy-on-usb", "--cooldown-temp", "0", "--no-report", "--out",
         str(tmp_path)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err  # 1 only if a trial failed; energy never fails a run
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    records = _records(run_dir)
    assert len(records) == 2
    for record in records:
        assert record["energy_source"] == "fuel_gauge" and record["energy_biased"] is True
        assert record["energy_rails"] is None and record["energy_rail_mj"] is None
    assert "--energy-on-usb" in captured.err  # the warning in preparation
    assert "biased: energy of" in captured.out  # the note under the table


def test_pixel1_unplugged_gauge_measures_the_timed_runs(make_sim, tmp_path: Path) -> None:
    dev = make_sim()
    dev.faults.set_usb_power(False)
    # About 0.3 mJ a run on a gold core of this host's speed: a few thousand runs
    # hold the gauge's 1 uAh (15 mJ) steps to a small share.
    runs = 10000  # --runs' maximum: long beside the sampler's bracket
    outcome = run(_settings(dev.serial, tmp_path, trials=1, runs=runs))
    (record,) = _records(outcome.run_dir)
    (truth,) = _truths_mj(dev, [record], runs)
    assert record["energy_reason"] is None, record["energy_reason"]
    assert record["energy_source"] == "fuel_gauge" and record["energy_biased"] is False
    assert record["energy_mj"] == pytest.approx(truth, rel=0.05), record
    assert record["energy_bound_pct"] < 5.0
    assert record["idle_power_mw"] == pytest.approx(profiles.PIXEL1_POWER.idle_mw(), rel=0.01)


def test_sim_pixel6_works_in_one_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["run", "--device", "sim:pixel6", "--variants", VARIANT, "--trials", "1", "--runs",
         "2000", "--warmup", "3", "--energy", "--cooldown-temp", "0", "--no-report", "--json",
         "--out", str(tmp_path)]
    )  # fmt: skip
    captured = capsys.readouterr()
    assert code in (0, 1), captured.err
    (row,) = json.loads(captured.out)["summary"]
    assert row["energy_source"] == "odpm" and row["energy_median_mj"] > 0
