"""A patient's audit history as people read it (the inspector's page)."""

from django.shortcuts import render

from casebook import selectors
from patients import selectors as patient_selectors


def history_view(request, study_id):
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    entries = selectors.patient_audit_history(user=request.user, patient=patient)
    return render(request, "casebook/history.html", {"patient": patient, "entries": entries})
