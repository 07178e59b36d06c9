"""Treatment pages: embryo transfer (record or correct), luteal support, dalteparin course."""

from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from patients import forms, treatment
from patients.view_helpers import correction_initial, editable_patient, form_page


def _transfer_input(data) -> treatment.TransferInput:
    return treatment.TransferInput(
        data["transfer_date"], data["cycle_type"], data["embryo_stage"], data["embryos_transferred"]
    )


@require_http_methods(["GET", "POST"])
def transfer_view(request, study_id):
    patient = editable_patient(request, study_id)
    transfer = patient.transfers.filter(voided_at__isnull=True).first()
    if transfer is None:
        form = forms.TransferForm(request.POST or None)

        def action(data):
            treatment.transfer_record(patient=patient, data=_transfer_input(data), by=request.user)

    else:
        fields = ["transfer_date", "cycle_type", "embryo_stage", "embryos_transferred"]
        form = forms.TransferEditForm(request.POST or None, initial=correction_initial(transfer, fields))

        def action(data):
            treatment.transfer_update(
                transfer=transfer,
                data=_transfer_input(data),
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
            )

    title = _("Embryo transfer") if transfer is None else _("Correct embryo transfer")
    return form_page(request, patient, form, title=title, action=action, done=_("Embryo transfer saved."))


@require_http_methods(["GET", "POST"])
def luteal_support_view(request, study_id):
    patient = editable_patient(request, study_id)
    form = forms.LutealSupportForm(request.POST or None)
    return form_page(
        request,
        patient,
        form,
        title=_("Luteal phase support"),
        action=lambda data: treatment.luteal_support_record(patient=patient, by=request.user, **data),
        done=_("Luteal phase support saved."),
    )


@require_http_methods(["GET", "POST"])
def dalteparin_view(request, study_id):
    patient = editable_patient(request, study_id)
    form = forms.DalteparinCourseForm(request.POST or None)
    return form_page(
        request,
        patient,
        form,
        title=_("Dalteparin course"),
        action=lambda data: treatment.dalteparin_course_record(patient=patient, by=request.user, **data),
        done=_("Dalteparin course saved."),
    )
