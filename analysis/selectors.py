"""Plain data for the statistics: one entry per randomized patient, in a constant number of queries.

Two shapes of the same data. `analysis_rows` gives one dict per patient (the `patients` export and
anything that reads a patient at a time). `analysis_table` gives the same values as columns
(`analysis.snapshot.Table`): the statistics need each variable across patients, and at 100,000 patients
building and walking a hundred-key dict per patient costs more than the statistics themselves.
`population_statistics` gives identical figures from either (tests/analysis/test_synthetic.py).

Labs and questionnaire scores are read pivoted by PostgreSQL (per patient for the rows, per variable
for the table). Values are converted exactly as the model fields would give them: numeric → float8
rounds correctly, as Python's float(Decimal) does, and halving a censored value is the same IEEE
division in either place.
"""

from collections import defaultdict
from collections.abc import Callable

import numpy as np
from django.db import connection
from django.db.models import Subquery
from django.db.models.functions import Coalesce

from analysis.models import DataVersion, ExportLog, StatisticsJob, StatisticsSnapshot
from analysis.snapshot import Table
from core.bulk_copy import copy_out_columns
from core.models import Timepoint
from labs.models import Analyte
from outcomes.models import PregnancyOutcome, QuestionnaireResponse
from outcomes.selectors import flagged_randomizations
from patients.models import Baseline, EmbryoTransfer
from patients.rules import received_allocated_treatment  # the per-protocol rule's one definition

# SPEC §5: a lab value below the detection limit enters as half the limit; above, as the limit.
LAB_VALUE = "CASE WHEN r.censoring = '<' THEN r.canonical_value::float8 / 2 ELSE r.canonical_value::float8 END"
LAB_FROM = """
FROM labs_labresult r
JOIN labs_labdraw d ON d.id = r.draw_id
WHERE r.voided_at IS NULL AND d.voided_at IS NULL
"""
LABS_BY_PATIENT = f"""
SELECT d.patient_id,
       array_agg('lab.' || a.code || '.' || t.code),
       array_agg({LAB_VALUE}),
       array_agg('censored.' || a.code || '.' || t.code) FILTER (WHERE r.censoring <> '')
FROM labs_labresult r
JOIN labs_labdraw d ON d.id = r.draw_id
JOIN labs_analyte a ON a.id = r.analyte_id
JOIN core_timepoint t ON t.id = d.timepoint_id
WHERE r.voided_at IS NULL AND d.voided_at IS NULL
GROUP BY d.patient_id
"""
# The table's reads, by binary COPY (core.bulk_copy.copy_out_columns): one fixed-width row per value.
LAB_COLUMNS = f"""
SELECT r.analyte_id::int4, d.timepoint_id::int4, d.patient_id::int8, {LAB_VALUE}, r.censoring <> ''
{LAB_FROM}
"""
LAB_COLUMN_TYPES = [("analyte", "i4"), ("timepoint", "i4"), ("patient", "i8"), ("value", "f8"), ("censored", "?")]
# A score read as text becomes float8 by the same correct rounding as json.loads; JSON null (a scale
# without enough answers) becomes NaN, as None does in a float column.
SCORE_COLUMNS = """
SELECT q.timepoint_id::int4, q.patient_id::int8, {columns}
FROM outcomes_questionnaireresponse q
JOIN outcomes_instrument i ON i.id = q.instrument_id
WHERE q.voided_at IS NULL AND i.code = %s
"""
OUTCOME_FIELDS = (
    "beta_hcg_positive",
    "clinical_pregnancy",
    "gestational_sacs",
    "miscarriage",
    "ongoing_pregnancy",
    "live_birth",
)
DERIVED_FIELDS = (
    "patient_id",
    "study_id",
    "site",
    "arm",
    "randomized_at",
    "in_error",
    "per_protocol",
    "embryos_transferred",
    "biochemical_pregnancy",
    "clinical_pregnancy",
    "gestational_sacs",
    "miscarriage",
    "ongoing_pregnancy",
    "live_birth",
    "any_adverse_event",
    "serious_adverse_event",
)
BASELINE_KEYS = (
    "baseline.age",
    "baseline.bmi",
    "baseline.previous_failed_transfers",
    "baseline.prior_miscarriages",
    "education",
)


def data_version() -> tuple[int, object]:
    """(counter, time) of the last committed audited change (every write runs in an audit context)."""
    current = DataVersion.objects.filter(pk=1).values_list("version", "changed_at").first()
    return current or (0, None)


def _derived_tuples() -> list[tuple]:
    """`outcomes.selectors.derived_outcomes` as tuples in DERIVED_FIELDS order, read without model instances.

    derived_outcomes is the definition (CPR, EIR, MCR, per-protocol); this is its fast form for the
    statistics, checked field by field against it on a synthetic trial (tests/analysis/test_synthetic.py).
    """
    active = {"voided_at__isnull": True}
    randomizations = flagged_randomizations().values_list(
        "patient_id",
        "patient__study_id",
        "patient__site__code",
        "arm__code",
        "arm__is_control",
        "randomized_at",
        "in_error",
        "had_dalteparin",
        "major_deviation",
        "any_ae",
        "any_sae",
    )
    outcomes = {
        o[0]: o[1:] for o in PregnancyOutcome.objects.filter(**active).values_list("patient_id", *OUTCOME_FIELDS)
    }
    embryos = dict(EmbryoTransfer.objects.filter(**active).values_list("patient_id", "embryos_transferred"))
    return [_derived(r, outcomes.get(r[0]), embryos.get(r[0])) for r in randomizations]


def _derived(randomization: tuple, outcome: tuple | None, embryos: int | None) -> tuple:
    patient_id, study_id, site, arm, control, randomized_at, in_error, dalteparin, major_deviation = randomization[:9]
    ae, sae = randomization[9:]
    hcg, clinical, sacs, miscarriage, ongoing, live_birth = outcome or (None,) * len(OUTCOME_FIELDS)
    per_protocol = not in_error and not major_deviation and received_allocated_treatment(control, dalteparin)
    sacs = (sacs or 0) if outcome is not None else None
    return (
        *(patient_id, study_id, site, arm, randomized_at, in_error, per_protocol, embryos),
        *(hcg, clinical, sacs, miscarriage, ongoing, live_birth, ae, sae),
    )


def _baselines() -> dict[int, tuple]:
    """Patient id → the BASELINE_KEYS values (BMI as float, as the statistics read it)."""
    rows = Baseline.objects.filter(voided_at__isnull=True).values_list(
        "patient_id", "patient__age_at_enrolment", "bmi", "previous_failed_transfers", "prior_miscarriages", "education"
    )
    return {
        pid: (age, float(bmi), transfers, miscarriages, education)
        for pid, age, bmi, transfers, miscarriages, education in rows
    }


class _Keys(dict):
    """One string object per variable name, shared by every row (100,000 rows × 100 keys would otherwise
    hold ten million copies of a few hundred names)."""

    def __missing__(self, key: str) -> str:
        self[key] = key
        return key


def _labs_by_patient(keys: _Keys) -> dict[int, dict]:
    found = {}
    with connection.cursor() as cursor:
        cursor.execute(LABS_BY_PATIENT)
        for patient_id, names, values, censored in cursor:
            labs = dict(zip(map(keys.__getitem__, names), values, strict=True))
            if censored:
                labs.update(dict.fromkeys(map(keys.__getitem__, censored), True))
            found[patient_id] = labs
    return found


def _scores_by_patient(keys: _Keys) -> dict[int, dict]:
    """Every stored scale score, keyed `qol.<instrument>.<scale>.<timepoint>`, as the JSON field decodes it."""
    found: dict[int, dict] = defaultdict(dict)
    rows = QuestionnaireResponse.objects.filter(voided_at__isnull=True).values_list(
        "patient_id", "instrument__code", "timepoint__code", "scores"
    )
    for patient_id, instrument, timepoint, scores in rows:
        target = found[patient_id]
        for scale, value in scores.items():
            target[keys[f"qol.{instrument}.{scale}.{timepoint}"]] = value
    return found


def analysis_rows() -> list[dict]:
    """One plain dict per randomized patient (ITT, allocated arm): outcomes, baseline, labs, scores.

    Seven queries whatever the number of patients; the `patients` export reads these.
    """
    keys = _Keys()
    baselines, labs, scores = _baselines(), _labs_by_patient(keys), _scores_by_patient(keys)
    rows = []
    for derived in _derived_tuples():
        row = dict(zip(DERIVED_FIELDS, derived, strict=True))
        patient_id = derived[0]
        if patient_id in baselines:
            row.update(zip(BASELINE_KEYS, baselines[patient_id], strict=True))
        row.update(labs.get(patient_id, ()))
        row.update(scores.get(patient_id, ()))
        rows.append(row)
    return rows


class _Positions:
    """Where each patient id sits in the table's row order (vectorised lookups)."""

    def __init__(self, patient_ids: list[int]):
        ids = np.asarray(patient_ids, dtype=np.int64)
        self.size = ids.size
        self.order = np.argsort(ids, kind="stable")
        self.sorted = ids[self.order]

    def column(self, patients, values, dtype, fill) -> np.ndarray:
        """`values[i]` placed at the row of `patients[i]`; rows without a value get `fill`; patients outside
        the table (not randomized) are dropped."""
        column = np.full(self.size, fill, dtype=dtype)
        if self.size == 0 or len(patients) == 0:
            return column
        wanted = np.asarray(patients, dtype=np.int64)
        at = np.searchsorted(self.sorted, wanted).clip(max=self.size - 1)
        hit = self.sorted[at] == wanted
        column[self.order[at[hit]]] = np.asarray(values, dtype=dtype)[hit]  # None → NaN for float
        return column


def _lab_rows() -> tuple[np.ndarray, dict[int, str], dict[int, str]]:
    """Every active lab value as one fixed-width row (analyte id, time point id, patient, value, censored),
    with the names of the analyte and time point ids."""
    with connection.cursor() as cursor:
        rows = copy_out_columns(cursor, LAB_COLUMNS, [], LAB_COLUMN_TYPES)
    return rows, dict(Analyte.objects.values_list("pk", "code")), dict(Timepoint.objects.values_list("pk", "code"))


def _score_rows(scales: dict[str, tuple[str, ...]]) -> tuple[dict[str, np.ndarray], dict[int, str]]:
    """Per instrument, one row per questionnaire (time point id, patient, one float per scale, NaN when
    unscored), with the names of the time point ids."""
    found = {}
    with connection.cursor() as cursor:
        for instrument, names in scales.items():
            columns = ", ".join(["COALESCE((q.scores ->> %s)::float8, 'NaN')"] * len(names))
            fields = [("timepoint", "i4"), ("patient", "i8"), *((f"s{i}", "f8") for i in range(len(names)))]
            sql = SCORE_COLUMNS.format(columns=columns)
            found[instrument] = copy_out_columns(cursor, sql, [*names, instrument], fields)
    return found, dict(Timepoint.objects.values_list("pk", "code"))


def _lab_columns(positions: _Positions, read) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every lab variable (`lab.<analyte>.<timepoint>`) as a column, with its censoring flags."""
    rows, analytes, timepoints = read
    values, censored = {}, {}
    variable = rows["analyte"].astype(np.int64) << 32 | rows["timepoint"].astype(np.int64)
    for pair, chosen in _groups(rows, variable):
        key = f"{analytes[pair >> 32]}.{timepoints[pair & 0xFFFFFFFF]}"
        values[f"lab.{key}"] = positions.column(chosen["patient"], chosen["value"], float, np.nan)
        censored[key] = positions.column(chosen["patient"], chosen["censored"], bool, False)
    return values, censored


def _groups(rows: np.ndarray, keys: np.ndarray):
    """(key, rows with that key) for each distinct key, in key order: one sort, not a pass per key."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    starts = np.flatnonzero(np.diff(ordered)) + 1
    for indices in np.split(order, starts) if len(order) else []:
        yield int(keys[indices[0]]), rows[indices]


def _score_columns(positions: _Positions, scales: dict[str, tuple[str, ...]], read) -> dict[str, np.ndarray]:
    """Every scale score (`qol.<instrument>.<scale>.<timepoint>`) as a column; unscored (JSON null) is NaN."""
    by_instrument, timepoints = read
    values = {}
    for instrument, names in scales.items():
        rows = by_instrument[instrument]
        for timepoint_id, chosen in _groups(rows, rows["timepoint"]):
            for i, name in enumerate(names):
                key = f"qol.{instrument}.{name}.{timepoints[timepoint_id]}"
                values[key] = positions.column(chosen["patient"], chosen[f"s{i}"], float, np.nan)
    return values


def table_reads(scales: dict[str, tuple[str, ...]]) -> dict[str, Callable[[], object]]:
    """The independent reads `analysis_table` is assembled from, longest first, so that a caller may run
    them side by side (`core.consistent_reads`); `table_from_reads` puts their results together."""
    return {
        "table.labs": _lab_rows,
        "table.derived": _derived_tuples,
        "table.scores": lambda: _score_rows(scales),
        "table.baselines": _baselines,
    }


def table_from_reads(read: dict[str, object], scales: dict[str, tuple[str, ...]]) -> Table:
    derived = read["table.derived"]
    columns = list(zip(*derived, strict=True)) if derived else [()] * len(DERIVED_FIELDS)
    fields = {name: list(column) for name, column in zip(DERIVED_FIELDS, columns, strict=True)}
    positions = _Positions(fields["patient_id"])
    baselines = read["table.baselines"]
    missing = (None,) * len(BASELINE_KEYS)
    baseline_columns = list(zip(*(baselines.get(pid, missing) for pid in fields["patient_id"]), strict=True))
    baseline_columns = baseline_columns or [()] * len(BASELINE_KEYS)
    values = {
        key: np.array(column, dtype=float)
        for key, column in zip(BASELINE_KEYS[:-1], baseline_columns[:-1], strict=True)
    }
    fields["education"] = list(baseline_columns[-1])
    labs, censored = _lab_columns(positions, read["table.labs"])
    values.update(labs)
    values.update(_score_columns(positions, scales, read["table.scores"]))
    return Table(fields=fields, values=values, censored=censored)


def analysis_table(scales: dict[str, tuple[str, ...]]) -> Table:
    """The analysis rows as columns (`analysis.snapshot.Table`), in the same row order, with the scores of
    the given scales (instrument → scale keys): what the statistics read. A constant number of queries
    (eight, and one per instrument); no per-patient dict is built."""
    return table_from_reads({name: read() for name, read in table_reads(scales).items()}, scales)


def latest_snapshot(*, with_payload: bool = True) -> StatisticsSnapshot | None:
    """The newest snapshot; without its payload (the figures, megabytes at scale) when only its facts are needed.

    It carries `data_version_now`, the data's version as of this read, so that a page can tell whether it
    is stale without a second query (`analysis.services.snapshot_is_stale(..., data_version=...)`).
    """
    now = DataVersion.objects.filter(pk=1).values("version")
    snapshots = StatisticsSnapshot.objects.order_by("-computed_at").annotate(
        data_version_now=Coalesce(Subquery(now), 0)
    )
    return (snapshots if with_payload else snapshots.defer("payload")).first()


def snapshot_get(pk: int) -> StatisticsSnapshot:
    return StatisticsSnapshot.objects.get(pk=pk)


def job_get(pk: int) -> StatisticsJob | None:
    return StatisticsJob.objects.filter(pk=pk).first()


def export_log_latest(limit: int = 20) -> list[ExportLog]:
    """The newest exports, newest first (one query: the log keeps the username as it was)."""
    return list(ExportLog.objects.order_by("-started_at", "-pk")[:limit])
