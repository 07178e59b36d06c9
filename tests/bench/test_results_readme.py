"""bench.harness.write_readme: the committed table of benchmark results."""

import json

import pytest

from bench import harness


def _payload(name: str, value: float) -> dict:
    machine = {"timestamp_utc": "2026-11-22T08:00:00+00:00", "python": "3.11", "postgres": "15", "cpu_count": 2}
    figure = harness.figure(f"{name}.speed", [value], "rows/s", notes="")
    return {"benchmark": name, "machine": machine, "repeats": 1, "scale": 10, "figures": [figure]}


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "RESULTS_DIR", tmp_path)
    return tmp_path


def test_a_run_of_one_benchmark_refreshes_its_section_and_keeps_the_others(results):
    for name, value in (("export", 100.0), ("lab_import", 200.0)):
        (results / f"{name}.json").write_text(json.dumps(_payload(name, value)))
    harness.write_readme()
    # A fresh checkout: the README is committed, the result files are not; one benchmark runs again.
    for result in results.glob("*.json"):
        result.unlink()
    (results / "lab_import.json").write_text(json.dumps(_payload("lab_import", 300.0)))
    text = harness.write_readme().read_text()
    assert text.count("## ") == 2
    assert "| export.speed | 100 |" in text, "the benchmark that did not run keeps its section"
    assert "| lab_import.speed | 300 |" in text and "| lab_import.speed | 200 |" not in text
    assert text.index("## export") < text.index("## lab_import")
    assert harness.write_readme().read_text() == text, "writing again changes nothing"
