"""A patient whose audit trail holds every kind of value issue 20 found unreadable: foreign keys (allocation
slot and arm, time point, analyte, lab draw, instrument, users), booleans changed both ways, decimals, dates,
date-times, choices and JSON (screening answers, questionnaire answers and scores), each corrected with a
reason. Shared by the readable audit trail's tests (page, filters, CSV, API)."""

import re
from datetime import timedelta
from decimal import Decimal
from html.parser import HTMLParser

from django.utils import timezone

from labs.services import lab_result_add, lab_result_correct
from outcomes import services as outcomes
from patients import services as patient_services
from patients.treatment import TransferInput, transfer_update
from quality import services as quality
from tests.factories import (
    backdated_transfer,
    baseline_input,
    pregnancy_data,
    rand36_entered_then_corrected,
    randomized_patient,
)

# What a database dump shows and a reader never should (issue 20, found item 7).
COLUMN_NAME = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)*_id\b")
PYTHON_LITERALS = [
    re.compile(r"\b(True|False|None)\b"),
    re.compile(r"Decimal\("),
    re.compile(r"\{'"),
    re.compile(r"\['"),
]


def corrected_everywhere(site, staff, statistician, monitor):
    """Screening → randomization (slot, arm) → consent, baseline, transfer, lab result, outcome and
    questionnaire, each corrected once with a reason, and a monitor's query."""
    patient = randomized_patient(site, staff, statistician)
    consent = patient.consents.get()
    patient_services.consent_update(
        consent=consent,
        form_version="v3.0",
        signed_on=consent.signed_on,
        by=staff,
        reason="The signed form is version 3.0",
        expected_version=consent.version,
    )
    baseline = patient.baselines.get()
    patient_services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=Decimal("58.5")),
        by=staff,
        reason="Scale re-read: 58.5 kg",
        expected_version=baseline.version,
    )
    transfer = backdated_transfer(patient, staff, days_ago=35)
    transfer = transfer_update(
        transfer=transfer,
        data=TransferInput(transfer.transfer_date, "frozen", "cleavage", 1),
        by=staff,
        reason="One cleavage embryo, per the lab sheet",
        expected_version=transfer.version,
    )
    drawn_at = (timezone.now() - timedelta(days=30)).replace(microsecond=0)
    result = lab_result_add(
        patient=patient, timepoint="BASELINE", drawn_at=drawn_at, analyte="E2", value="50", unit="pg/mL", by=staff
    )
    lab_result_correct(
        result=result, value="55", unit="pg/mL", by=staff, reason="Lab report re-read", expected_version=result.version
    )
    outcome = outcomes.outcome_record(patient=patient, data=pregnancy_data(transfer), by=staff)
    outcomes.outcome_update(
        outcome=outcome,
        data=pregnancy_data(transfer, fetal_heartbeat=False, beta_hcg_value=Decimal("912.5")),
        by=staff,
        reason="Ultrasound report: no heartbeat",
        expected_version=outcome.version,
    )
    rand36_entered_then_corrected(patient, by=staff)
    quality.query_raise(patient=patient, form="baseline", field="weight_kg", message="Source says 58 kg?", by=monitor)
    patient.refresh_from_db()
    return patient


def correct_weight(patient, by, *, times: int) -> None:
    """`times` more corrections of her baseline weight, each with its own reason."""
    for i in range(times):
        baseline = patient.baselines.get(voided_at__isnull=True)
        patient_services.baseline_update(
            baseline=baseline,
            data=baseline_input(weight_kg=Decimal("60.0") + i),
            by=by,
            reason=f"Scale {i}",
            expected_version=baseline.version,
        )


class HistoryTable(HTMLParser):
    """The history table's visible text, and each row's data attributes and classed cells."""

    CLASSES = ("audit-when", "audit-user", "audit-record", "audit-field-label", "audit-old", "audit-new")

    def __init__(self):
        super().__init__()
        self.inside, self.text, self.rows = False, [], []
        self._capturing = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and attrs.get("id") == "audit-table":
            self.inside = True
        if tag == "tr" and "data-record" in attrs:
            self.rows.append({key[5:]: value for key, value in attrs.items() if key.startswith("data-")})
        classes = set((attrs.get("class") or "").split())
        self._capturing = next((c for c in self.CLASSES if c in classes), None)
        if self._capturing and self.rows:
            self.rows[-1][self._capturing] = ""

    def handle_endtag(self, tag):
        self._capturing = None
        if tag == "table":
            self.inside = False

    def handle_data(self, data):
        if self.inside:
            self.text.append(data.strip())
        if self._capturing and self.rows:
            self.rows[-1][self._capturing] += data.strip()


def history_table(html: str) -> HistoryTable:
    table = HistoryTable()
    table.feed(html)
    return table


def dump_traces(text: str) -> list[str]:
    """What in the text reads like a database dump: column names ending in _id and Python literals."""
    found = COLUMN_NAME.findall(text)
    return found + [match.group(0) for pattern in PYTHON_LITERALS for match in pattern.finditer(text)]
