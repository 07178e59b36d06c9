"""Outcome pages: pregnancy outcome, adverse events, questionnaires (record or correct with a reason)."""

from django.http import Http404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.models import Timepoint
from outcomes import forms, services
from outcomes.instruments import INSTRUMENT_ITEMS, INSTRUMENT_NAMES
from outcomes.models import AdverseEvent, QuestionnaireResponse
from patients.view_helpers import correction_initial, editable_patient, form_page


@require_http_methods(["GET", "POST"])
def outcome_view(request, study_id):
    patient = editable_patient(request, study_id)
    outcome = patient.pregnancy_outcomes.filter(voided_at__isnull=True).first()
    if outcome is None:
        form = forms.PregnancyOutcomeForm(request.POST or None)

        def action(data):
            services.outcome_record(
                patient=patient, data=form.outcome_data(), by=request.user, confirm_sacs=data["confirm_sacs"]
            )

    else:
        initial = correction_initial(
            outcome, services.OUTCOME_FIELDS, confirm_sacs=outcome.sacs_exceed_embryos_confirmed
        )
        form = forms.PregnancyOutcomeEditForm(request.POST or None, initial=initial)

        def action(data):
            services.outcome_update(
                outcome=outcome,
                data=form.outcome_data(),
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
                confirm_sacs=data["confirm_sacs"],
            )

    title = _("Pregnancy outcome") if outcome is None else _("Correct pregnancy outcome")
    return form_page(request, patient, form, title=title, action=action, done=_("Pregnancy outcome saved."))


@require_http_methods(["GET", "POST"])
def adverse_event_create_view(request, study_id):
    patient = editable_patient(request, study_id)
    form = forms.AdverseEventForm(request.POST or None)
    return form_page(
        request,
        patient,
        form,
        title=_("Adverse event"),
        action=lambda data: services.adverse_event_record(patient=patient, data=data, by=request.user),
        done=_("Adverse event saved."),
    )


@require_http_methods(["GET", "POST"])
def adverse_event_edit_view(request, study_id, pk):
    patient = editable_patient(request, study_id)
    event = AdverseEvent.objects.filter(pk=pk, patient=patient, voided_at__isnull=True).first()
    if event is None:
        raise Http404("No such adverse event.")
    form = forms.AdverseEventEditForm(request.POST or None, initial=correction_initial(event, services.AE_FIELDS))

    def action(data):
        services.adverse_event_update(
            event=event, data=data, by=request.user, reason=data["reason"], expected_version=data["version"]
        )

    return form_page(
        request, patient, form, title=_("Follow up adverse event"), action=action, done=_("Adverse event saved.")
    )


@require_http_methods(["GET", "POST"])
def questionnaire_view(request, study_id, instrument, timepoint):
    patient = editable_patient(request, study_id)
    if instrument not in INSTRUMENT_ITEMS:
        raise Http404("No such questionnaire.")
    items = INSTRUMENT_ITEMS[instrument]
    response = QuestionnaireResponse.objects.filter(
        patient=patient, instrument__code=instrument, timepoint__code=timepoint, voided_at__isnull=True
    ).first()
    if response is None:
        form = forms.QuestionnaireForm(request.POST or None, items=items)

        def action(data):
            services.questionnaire_record(
                patient=patient,
                instrument=instrument,
                timepoint=timepoint,
                completed_on=data["completed_on"],
                answers=form.answers(),
                by=request.user,
            )

    else:
        answers = {f"item_{key}": value for key, value in response.answers.items()}
        initial = correction_initial(response, ["completed_on"], **answers)
        form = forms.QuestionnaireEditForm(request.POST or None, items=items, initial=initial)

        def action(data):
            services.questionnaire_update(
                response=response,
                completed_on=data["completed_on"],
                answers=form.answers(),
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
            )

    # The time point by its label; a code the trial does not have stays as given (the service refuses it).
    label = _(Timepoint.objects.filter(code=timepoint).values_list("label", flat=True).first() or timepoint)
    return form_page(
        request,
        patient,
        form,
        title=_("%(instrument)s at %(timepoint)s")
        % {"instrument": _(INSTRUMENT_NAMES[instrument]), "timepoint": label},
        action=action,
        done=_("%(instrument)s at %(timepoint)s saved.") % {"instrument": instrument, "timepoint": label},
        template="outcomes/questionnaire_form.html",
    )
