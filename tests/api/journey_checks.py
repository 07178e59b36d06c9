"""The API journey's checks: every export against the data dictionary and the entered values, then the statistics.

Used by tests/api/test_api_journey.py: CSV and JSON of each data set hold the same rows, every value is
of its dictionary type, and each woman, alone in her arm, finds her own entered values in every figure.
"""

import csv
import io
import json
import time as clock
from datetime import date

import pytest
from rest_framework.test import APIClient

from tests.api.journey_data import DATASETS, DERIVED, EXPECTED_EVENTS, INSTRUMENT_SCALES
from tests.api.journey_steps import _moment


def _export(api: APIClient, dataset: str, fmt: str) -> str:
    response = api.get(f"/api/v1/export/{dataset}.{fmt}")
    assert response.status_code == 200 and response.streaming, (dataset, fmt, response.status_code)
    return b"".join(response.streaming_content).decode()


def _conforms(value, column: dict) -> bool:
    """A JSON export value is of its dictionary type and among its allowed values (None = missing)."""
    if value is None:
        return True
    kind = column["type"]
    if kind == "integer":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "number":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind == "boolean":
        ok = value in (0, 1) and not isinstance(value, bool)
    elif kind == "date":
        ok = isinstance(value, str) and date.fromisoformat(value).isoformat() == value
    elif kind == "datetime":
        ok = isinstance(value, str) and value.endswith("Z") and _moment(value).tzinfo is not None
    else:
        ok = isinstance(value, str)
    return ok and (not column["allowed_values"] or value in column["allowed_values"])


def _patient_lab_cell(entry: tuple) -> float:
    """The `patients` export's lab value: half the limit below detection, the limit above range (SPEC §5)."""
    _, _, canonical, _, censoring = entry
    return float(canonical) / 2 if censoring == "<" else float(canonical)


def _download_exports(stats_api) -> tuple[dict, dict, str]:
    """(data dictionary, JSON rows per data set, all raw text); CSV and JSON must hold the same rows."""
    dictionary = stats_api.get("/api/v1/data-dictionary/").json()["datasets"]
    assert set(dictionary) == set(DATASETS)
    exported, raw = {}, [json.dumps(dictionary, ensure_ascii=False)]
    for dataset in DATASETS:
        columns = {c["name"]: c for c in dictionary[dataset]}
        text_json, text_csv = _export(stats_api, dataset, "json"), _export(stats_api, dataset, "csv")
        raw += [text_json, text_csv]
        rows = json.loads(text_json)
        reader = csv.reader(io.StringIO(text_csv))
        header = next(reader)
        assert header == [c["name"] for c in dictionary[dataset]], dataset
        as_csv = [["" if row[name] is None else str(row[name]) for name in header] for row in rows]
        assert list(reader) == as_csv, f"{dataset}: CSV and JSON hold the same rows"
        for row in rows:
            assert list(row) == header
            bad = {name: value for name, value in row.items() if not _conforms(value, columns[name])}
            assert not bad, f"{dataset}: values outside their dictionary type or allowed values: {bad}"
        exported[dataset] = rows
    return dictionary, exported, "".join(raw)


def _check_patients_export(dictionary: dict, rows: list[dict], women: tuple, configured: set, analytes: dict):
    columns = {c["name"]: c for c in dictionary["patients"]}
    by_id = {row["study_id"]: row for row in rows}
    assert set(by_id) == {w["study_id"] for w in women}, "randomized women only (not the ineligible one)"
    for woman in women:
        row = by_id[woman["study_id"]]
        expected = {
            "study_id": woman["study_id"],
            "site": "SZ",
            "arm": woman["arm"],
            "in_error": 0,
            "age": woman["age"],
            "bmi": woman["bmi"],
            "previous_failed_transfers": woman["baseline"]["previous_failed_transfers"],
            "prior_miscarriages": woman["baseline"]["prior_miscarriages"],
            "education": woman["baseline"]["education"],
            "embryos_transferred": woman["embryos_transferred"],
            **DERIVED[woman["arm"]],
        }
        for analyte, tp in configured:
            entry = woman["labs"].get((analyte, tp))
            expected[f"lab_{analyte}_{tp}"] = _patient_lab_cell(entry) if entry else None
            assert columns[f"lab_{analyte}_{tp}"]["unit"] == analytes[analyte]["canonical_unit"]
        for instrument, scales in INSTRUMENT_SCALES:
            for tp in ("BASELINE", "ET28"):
                answered = woman["questionnaires"].get((instrument, tp))
                for scale in scales:
                    expected[f"{instrument.lower()}_{scale}_{tp}"] = answered["scores"][scale] if answered else None
        assert not sorted(set(expected) - set(columns)), "every expected column is in the data dictionary"
        assert {name: row[name] for name in expected} == expected, woman["study_id"]
        assert _moment(row["randomized_at"]) == _moment(woman["randomized_at"])


def _check_lab_results_export(rows: list[dict], women: tuple, analytes: dict) -> None:
    assert len(rows) == sum(len(w["labs"]) for w in women)
    for woman in women:
        found = {(r["analyte"], r["timepoint"]): r for r in rows if r["study_id"] == woman["study_id"]}
        assert set(found) == set(woman["labs"])
        for (analyte, tp), (value, unit, canonical, flag, censoring) in woman["labs"].items():
            row = found[(analyte, tp)]
            expected = {"site": "SZ", "arm": woman["arm"], "value_as_entered": str(value), "unit_as_entered": unit}
            expected |= {"canonical_value": float(canonical), "canonical_unit": analytes[analyte]["canonical_unit"]}
            expected |= {"censored": censoring or None, "flag": flag}
            assert {name: row[name] for name in expected} == expected, (woman["study_id"], analyte, tp)
            assert _moment(row["drawn_at"]) == woman["drawn_at"][tp]


def _check_adverse_events_export(rows: list[dict], women: tuple) -> None:
    by_id = {row["study_id"]: row for row in rows}
    assert len(rows) == len(women) and set(by_id) == {w["study_id"] for w in women}
    for woman in women:
        expected = {**woman["ae"], "site": "SZ", "arm": woman["arm"], "serious": int(woman["ae"]["serious"])}
        expected["term_other"] = expected["term_other"] or None
        assert {name: by_id[woman["study_id"]][name] for name in expected} == expected


def _check_questionnaires_export(dictionary: dict, rows: list[dict], women: tuple) -> None:
    columns = {c["name"] for c in dictionary["questionnaires"]}
    by_key = {(r["study_id"], r["instrument"], r["timepoint"]): r for r in rows}
    assert len(rows) == sum(len(w["questionnaires"]) for w in women)
    for woman in women:
        for (instrument, tp), response in woman["questionnaires"].items():
            row = by_key[(woman["study_id"], instrument, tp)]
            prefix = instrument.lower()
            expected = {"site": "SZ", "arm": woman["arm"], "completed_on": response["completed_on"]}
            expected |= {f"{prefix}_{scale}": score for scale, score in response["scores"].items()}
            expected |= {f"{prefix}_item_{key}": answer for key, answer in response["answers"].items()}
            assert set(expected) <= columns, sorted(set(expected) - columns)
            assert {name: row[name] for name in expected} == expected, (woman["study_id"], instrument, tp)
            other = "ssrs_" if instrument == "RAND36" else "rand36_"
            assert all(row[name] is None for name in row if name.startswith(other)), "other instrument empty"


def _recompute(stats_api, capture) -> dict:
    """POST recompute (the job is sent on commit; Celery is eager without a broker), then poll the job."""
    with capture(execute=True):
        accepted = stats_api.post("/api/v1/statistics/recompute/")
    assert accepted.status_code == 202, accepted.content
    job = accepted.json()
    for _ in range(50):
        job = stats_api.get(f"/api/v1/statistics/jobs/{job['id']}/").json()
        if job["status"] in ("done", "failed"):
            break
        clock.sleep(0.1)
    assert (job["status"], job["progress"]) == ("done", 100), job
    assert job["snapshot"] is not None
    return job


def _check_binary(document: dict) -> None:
    binary = {entry["key"]: entry for entry in document["binary"]}
    for key, ((e_exp, n_exp), (e_ctrl, n_ctrl)) in EXPECTED_EVENTS.items():
        by_arm = binary[key]["by_arm"]
        assert (by_arm["EXP"]["events"], by_arm["EXP"]["n"]) == (e_exp, n_exp), key
        assert (by_arm["CTRL"]["events"], by_arm["CTRL"]["n"]) == (e_ctrl, n_ctrl), key
        assert by_arm["EXP"]["proportion"] == pytest.approx(e_exp / n_exp), key
        assert binary[key]["test"] == "fisher", key  # expected counts below 5
    # EXP 1/1 vs CTRL 0/1: RD 1; a zero cell adds 0.5 everywhere: RR (1.5/2)/(0.5/2) = 3, OR 1.5²/0.5² = 9.
    live_birth = binary["live_birth"]
    assert live_birth["risk_difference"]["estimate"] == pytest.approx(1.0)
    assert live_birth["risk_ratio"]["estimate"] == pytest.approx(3.0)
    assert live_birth["odds_ratio"]["estimate"] == pytest.approx(9.0)
    assert live_birth["p_value"] == pytest.approx(1.0)


def _alone_in_arm(continuous: dict, key: str, arm: str, value, censored: int | None = None) -> None:
    """She is alone in her arm: n 1 and every location statistic her value (or n 0 and missing 1)."""
    figures = continuous[key]["by_arm"][arm]
    if value is None:
        assert (figures["n"], figures["missing"], figures["mean"]) == (0, 1, None), (key, arm, figures)
    else:
        assert (figures["n"], figures["missing"], figures["sd"]) == (1, 0, None), (key, arm, figures)
        located = {name: figures[name] for name in ("mean", "median", "min", "max", "q1", "q3")}
        assert located == pytest.approx(dict.fromkeys(located, value)), (key, arm, figures)
    if censored is not None:
        assert figures["censored"] == censored, (key, arm, figures)


def _check_continuous(document: dict, woman: dict, configured: set) -> None:
    continuous, arm = {entry["key"]: entry for entry in document["continuous"]}, woman["arm"]
    _alone_in_arm(continuous, "baseline.age", arm, woman["age"])
    _alone_in_arm(continuous, "baseline.bmi", arm, woman["bmi"])
    for name in ("previous_failed_transfers", "prior_miscarriages"):
        _alone_in_arm(continuous, f"baseline.{name}", arm, woman["baseline"][name])
    for analyte, tp in configured:
        entry = woman["labs"].get((analyte, tp))
        value, censored = (_patient_lab_cell(entry), int(bool(entry[4]))) if entry else (None, 0)
        _alone_in_arm(continuous, f"lab.{analyte}.{tp}", arm, value, censored)
    for instrument, scales in INSTRUMENT_SCALES:
        before = woman["questionnaires"][(instrument, "BASELINE")]["scores"]
        after = woman["questionnaires"].get((instrument, "ET28"), {}).get("scores")
        for scale in scales:
            _alone_in_arm(continuous, f"qol.{instrument}.{scale}.BASELINE", arm, before[scale])
            _alone_in_arm(continuous, f"qol.{instrument}.{scale}.ET28", arm, after[scale] if after else None)
            change = after[scale] - before[scale] if after else None
            _alone_in_arm(continuous, f"qol.{instrument}.{scale}.ET28-BASELINE", arm, change)
    assert continuous["baseline.bmi"]["mean_difference"]["estimate"] is None  # one woman per arm: no Welch
