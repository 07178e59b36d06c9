"""Helpers the quality service tests share: a full lab draw taken earlier today, the casebook's form
states, a second patient's identity. (They keep the names the tests have always called them by.)"""

from datetime import datetime, time, timedelta

from django.utils import timezone

from labs.services import lab_draw_record
from quality import selectors

NORMAL_LABS = [
    ("FSH", "6", "IU/L"),
    ("LH", "5", "IU/L"),
    ("E2", "300", "pmol/L"),
    ("CA125", "10", "U/mL"),
    ("IL6", "2", "pg/mL"),
    ("BHCG", "1", "IU/L"),
]


def _earlier_today() -> datetime:
    at = timezone.make_aware(datetime.combine(timezone.localdate(), time(7)))
    return min(at, timezone.now() - timedelta(minutes=1))


def _labs(patient, by, *, timepoint="ET14", **overrides):
    entries = [(code, overrides.get(code, value), unit) for code, value, unit in NORMAL_LABS]
    return lab_draw_record(patient=patient, timepoint=timepoint, drawn_at=_earlier_today(), entries=entries, by=by)


def _states(patient):
    return {f.key: f.state for f in selectors.casebook_get(patient).forms}


def _other_identity(n):
    return {"medical_record_number": f"MRN-Q{n}", "full_name": f"Other Woman {n}"}
