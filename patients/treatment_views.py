"""Treatment pages: embryo transfer (record or correct), luteal support, dalteparin course."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors
from patients import forms, selectors, treatment


def _editable(request, study_id):
    patient = selectors.patient_get(user=request.user, study_id=study_id)
    if not access.can_enter_data(request.user, patient.site_id):
        raise PermissionDenied("Your role cannot change clinical data.")
    return patient


def _save(request, patient, form, title, action, done_message):
    """Validate the form, run the service, and show its refusal on the form or go back to the patient."""
    if request.method == "POST" and form.is_valid():
        try:
            action(form.cleaned_data)
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, done_message)
            return redirect("patients:detail", study_id=patient.study_id)
    return render(request, "patients/record_form.html", {"patient": patient, "form": form, "title": title})


def _transfer_input(data) -> treatment.TransferInput:
    return treatment.TransferInput(
        data["transfer_date"], data["cycle_type"], data["embryo_stage"], data["embryos_transferred"]
    )


@require_http_methods(["GET", "POST"])
def transfer_view(request, study_id):
    patient = _editable(request, study_id)
    transfer = patient.transfers.filter(voided_at__isnull=True).first()
    if transfer is None:
        form = forms.TransferForm(request.POST or None)

        def action(data):
            treatment.transfer_record(patient=patient, data=_transfer_input(data), by=request.user)

    else:
        fields = ["transfer_date", "cycle_type", "embryo_stage", "embryos_transferred"]
        initial = {name: getattr(transfer, name) for name in fields} | {"version": transfer.version}
        form = forms.TransferEditForm(request.POST or None, initial=initial)

        def action(data):
            treatment.transfer_update(
                transfer=transfer,
                data=_transfer_input(data),
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
            )

    title = "Embryo transfer" if transfer is None else "Correct embryo transfer"
    return _save(request, patient, form, title, action, "Embryo transfer saved.")


@require_http_methods(["GET", "POST"])
def luteal_support_view(request, study_id):
    patient = _editable(request, study_id)
    form = forms.LutealSupportForm(request.POST or None)
    return _save(
        request,
        patient,
        form,
        "Luteal phase support",
        lambda data: treatment.luteal_support_record(patient=patient, by=request.user, **data),
        "Luteal phase support saved.",
    )


@require_http_methods(["GET", "POST"])
def dalteparin_view(request, study_id):
    patient = _editable(request, study_id)
    form = forms.DalteparinCourseForm(request.POST or None)
    return _save(
        request,
        patient,
        form,
        "Dalteparin course",
        lambda data: treatment.dalteparin_course_record(patient=patient, by=request.user, **data),
        "Dalteparin course saved.",
    )
