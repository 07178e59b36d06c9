"""What every clinical form page does: find an editable patient, run the form through a service."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors
from patients import selectors


def editable_patient(request, study_id):
    """The patient, if the user may change her data: other sites 404, read-only roles 403."""
    patient = selectors.patient_get(user=request.user, study_id=study_id)
    if not access.can_enter_data(request.user, patient.site_id):
        raise PermissionDenied(_("Your role cannot change clinical data."))
    return patient


def correction_initial(record, fields, **extra) -> dict:
    """A stored record as its correction form's initial data: its fields, any extra values, and the version
    the correction is based on (the service refuses it if someone saved the record since)."""
    return {name: getattr(record, name) for name in fields} | extra | {"version": record.version}


def form_page(request, patient, form, *, title, action, done, template="patients/record_form.html", **extra):
    """Validate the form, run `action(cleaned_data)` (a service call), show its refusal on the form or
    go back to the patient's page with `done` as the message."""
    if request.method == "POST" and form.is_valid():
        try:
            action(form.cleaned_data)
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, done)
            return redirect("casebook:patient", study_id=patient.study_id)
    return render(request, template, {"patient": patient, "form": form, "title": title, **extra})
