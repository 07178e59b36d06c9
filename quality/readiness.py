"""The data-quality items of the lock checklist (core/readiness.py): what a database lock would freeze
unfinished, counted over the whole trial (the lock is the whole trial's)."""

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from core.readiness import ReadinessItem
from patients.models import Patient, Randomization
from quality import catalogue, selectors
from quality.models import DataQuery, QueryStatus

LABELS = {
    "open_queries": _("Data queries not closed"),
    "unsigned_casebooks": _("Casebooks of randomized women without a valid signature"),
    "unverified_forms": _("Forms entered but not source-verified"),
    "missing_forms": _("Expected forms not started or not finished"),
}


def lock_checklist() -> list[ReadinessItem]:
    patients = list(Patient.objects.filter(voided_at__isnull=True))
    books = selectors.casebooks(patients)
    forms = [form for book in books.values() for form in book.forms]
    randomized = set(Randomization.objects.values_list("patient_id", flat=True))
    counts = {
        "open_queries": DataQuery.objects.filter(patient__voided_at__isnull=True)
        .exclude(status=QueryStatus.CLOSED)
        .count(),
        "unsigned_casebooks": sum(1 for pk, book in books.items() if pk in randomized and not book.signature_valid),
        "unverified_forms": sum(1 for f in forms if f.state == catalogue.COMPLETE),
        "missing_forms": sum(1 for f in forms if f.state in catalogue.NOT_DONE),
    }
    where = {
        "open_queries": reverse("quality:queries"),
        "unsigned_casebooks": reverse("patients:list"),
        "unverified_forms": reverse("patients:list"),
        "missing_forms": reverse("quality:missing"),
    }
    return [ReadinessItem(key, str(label), counts[key], where[key]) for key, label in LABELS.items()]
