"""`--junit`: valid against the common JUnit schema; regressions fail, inconclusive skip."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from harness.compare import compare_runs, write_junit
from harness.compare.check import Comparison
from harness.compare.junit import junit_xml
from tests.support.synthetic import noisy_latencies, write_run

XSD = Path(__file__).resolve().parents[1] / "data" / "junit.xsd"
A, B, C, D = (
    "mobilenet_v2_1.0_224",
    "mobilenet_v2_0.35_96",
    "mobilenet_v2_0.5_128",
    "mobilenet_v2_0.75_160",
)
HOSTILE_MODEL = "Pixel <b>\"&'</b>\x07 ]]>"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


def mixed_comparison(tmp: Path, model: str = "Pixel") -> Comparison:
    base = noisy_latencies([A, B, C], n=5, cv=0.01, seed=1)
    base[D] = [20.0]  # one trial: inconclusive
    cur = noisy_latencies([A, B, D], n=5, cv=0.01, seed=2, scale={A: 1.3})
    dev = {"model": model}
    b = write_run(tmp / "b", base, device=dev)
    # Trials that started warm: a thermal warning, but not a proof flag (a throttled
    # trial would turn A's regression into `inconclusive`, see compare/flags.py).
    c = write_run(tmp / "c", cur, device=dev, trial_overrides={"cooled": False})
    return compare_runs(b, c)


def test_valid_against_the_schema_with_failures_and_skips(
    tmp_path: Path, schema: etree.XMLSchema
) -> None:
    comp = mixed_comparison(tmp_path)
    path = write_junit(comp, tmp_path / "out" / "check.xml")
    doc = etree.parse(str(path))
    schema.assertValid(doc)
    root = doc.getroot()
    assert root.tag == "testsuites"
    # A regressed (A) and a missing (C) configuration both fail the gate.
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("4", "2", "1")
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(comp.rows) == 4
    by_name = {c.get("name"): c for c in cases}
    failure = by_name[f"{A}|fp32|t1|big|xnnpack=default"].find("failure")
    assert failure is not None and failure.get("type") == "regression"
    assert "slower" in (failure.get("message") or "") and "+30" in (failure.text or "")
    skipped = by_name[f"{D}|fp32|t1|big|xnnpack=default"].find("skipped")
    assert skipped is not None and "too few ok trials" in (skipped.get("message") or "")
    case = by_name[f"{B}|fp32|t1|big|xnnpack=default"]
    assert case.find("failure") is None and case.find("skipped") is None
    missing = by_name[f"{C}|fp32|t1|big|xnnpack=default"].find("failure")
    assert missing is not None and missing.get("type") == "missing"
    assert "not measured in the current run" in (missing.get("message") or "")
    assert "missing" in (by_name[f"{C}|fp32|t1|big|xnnpack=default"].findtext("system-out") or "")
    # Warnings reach the suite: thermal trouble of the current run.
    err = root.findtext("testsuite/system-err") or ""
    assert "thermal trouble in the current run" in err
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["threshold"] == "5%" and props["confidence"] == "99%"
    assert any("thermal" in (v or "") for k, v in props.items() if k.startswith("warning."))


def test_a_hostile_device_string_stays_data(tmp_path: Path, schema: etree.XMLSchema) -> None:
    comp = mixed_comparison(tmp_path, model=HOSTILE_MODEL)
    data = junit_xml(comp)
    doc = etree.fromstring(data)
    schema.assertValid(doc)
    assert b"<b>" not in data
    suite = doc.find("testsuite")
    assert suite is not None
    # The control character is replaced; the rest survives as text.
    assert suite.get("name") == "harness check Pixel <b>\"&'</b>\ufffd ]]>"
    assert all(c.get("classname") == "harness.check.Pixel_b_b" for c in suite.iter("testcase"))


def test_no_regression_has_no_failure(tmp_path: Path, schema: etree.XMLSchema) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2))
    doc = etree.fromstring(junit_xml(compare_runs(b, c)))
    schema.assertValid(doc)
    assert doc.get("failures") == "0" and not doc.findall(".//failure")


def test_the_schema_rejects_what_ci_readers_reject(schema: etree.XMLSchema) -> None:
    # The schema is only worth validating against if it can fail.
    bad = [
        b'<testsuites><testsuite tests="1"><testcase name="x"/></testsuite></testsuites>',
        b'<testsuites><testsuite name="s" tests="1"><testcase/></testsuite></testsuites>',
        b'<testsuites><testsuite name="s" tests="one"/></testsuites>',
        b'<testsuites><testsuite name="s" tests="1"><testcase name="x" time="-1"/>'
        b"</testsuite></testsuites>",
        b'<testsuites><testsuite name="s" tests="1"><testcase name="x"><verdict/></testcase>'
        b"</testsuite></testsuites>",
    ]
    for doc in bad:
        assert not schema.validate(etree.fromstring(doc)), doc
    good = (
        b'<testsuites><testsuite name="s" tests="1" skipped="1"><testcase name="x">'
        b'<skipped message="why"/></testcase></testsuite></testsuites>'
    )
    assert schema.validate(etree.fromstring(good))


def test_failed_and_partly_failed_configurations(tmp_path: Path, schema: etree.XMLSchema) -> None:
    base = noisy_latencies([A, B, C], n=5, cv=0.01, seed=1)
    cur = noisy_latencies([A, B, C], n=5, cv=0.01, seed=2, scale={A: 1.3})
    cur[A], cur[B] = cur[A][:3], []
    b = write_run(tmp_path / "b", base)
    c = write_run(tmp_path / "c", cur, failed={A: 2, B: 5})
    comp = compare_runs(b, c)
    doc = etree.fromstring(junit_xml(comp))
    schema.assertValid(doc)
    by_name = {t.get("name").split("|")[0]: t for t in doc.iter("testcase")}
    broke = by_name[B].find("failure")
    assert broke is not None and broke.get("type") == "failed"
    assert "all 5 current trial(s) failed" in (broke.get("message") or "")
    slow = by_name[A].find("failure")
    assert slow is not None and slow.get("type") == "regression"
    assert "2 of 5 current trials failed" in (slow.get("message") or "")
    assert "(n=3, 2 failed)" in (slow.text or "")
    assert doc.get("failures") == "2"


def test_allowed_missing_is_skipped_not_failed(tmp_path: Path, schema: etree.XMLSchema) -> None:
    b = write_run(tmp_path / "b", noisy_latencies([A, B], n=5, cv=0.01, seed=1))
    c = write_run(tmp_path / "c", noisy_latencies([A], n=5, cv=0.01, seed=2))
    doc = etree.fromstring(junit_xml(compare_runs(b, c, allow_missing=True)))
    schema.assertValid(doc)
    case = next(t for t in doc.iter("testcase") if t.get("name").startswith(B))
    assert case.find("failure") is None and case.find("skipped") is not None
    assert (doc.get("failures"), doc.get("skipped")) == ("0", "1")
