"""Registry pages: access check → form → service or selector → template. Rules live in the services."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors
from core.models import Site
from patients import forms, selectors, services
from patients.models import PatientStatus
from patients.view_helpers import correction_initial, editable_patient, form_page

PAGE_SIZE = 50


def patient_list_view(request):
    status = request.GET.get("status", "")
    status = status if status in PatientStatus.values else ""
    query = request.GET.get("q", "")
    consort = request.GET.get("consort", "")
    patients = selectors.patient_list(user=request.user, status=status, query=query, consort=consort)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    names = selectors.identity_names(user=request.user, patients=list(page))
    rows = [(patient, names.get(patient.pk)) for patient in page]
    return render(
        request,
        "patients/list.html",
        {
            "page": page,
            "rows": rows,
            "status": status,
            "query": query,
            "consort": consort,
            "statuses": PatientStatus.choices,
            "can_screen": bool(access.data_entry_site_ids(request.user)),
            "shows_names": bool(names) or request.user.has_perm("core.view_identity"),
        },
    )


@require_http_methods(["GET", "POST"])
def screening_create_view(request):
    sites = Site.objects.filter(pk__in=access.data_entry_site_ids(request.user))
    if not sites.exists():
        raise PermissionDenied(_("Only site staff and investigators screen patients."))
    form = forms.ScreeningForm(request.POST or None, sites=sites)
    if request.method == "POST" and form.is_valid():
        try:
            patient = services.patient_screen(
                site=form.cleaned_data["site"],
                identity=form.identity(),
                screening_date=form.cleaned_data["screening_date"],
                answers=form.answers(),
                by=request.user,
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(
                request,
                _("%(study_id)s registered: %(status)s.")
                % {"study_id": patient.study_id, "status": patient.get_status_display().lower()},
            )
            return redirect("casebook:patient", study_id=patient.study_id)
    return render(request, "patients/screening_form.html", {"form": form})


@require_http_methods(["GET", "POST"])
def identity_edit_view(request, study_id):
    patient = editable_patient(request, study_id)
    identity = patient.identity
    initial = {
        "full_name": identity.full_name,
        "medical_record_number": identity.medical_record_number,
        "date_of_birth": identity.date_of_birth,
        "phone": identity.phone,
        "version": identity.version,
    }
    form = forms.IdentityEditForm(request.POST or None, initial=initial)

    def action(data):
        services.identity_update(
            patient=patient,
            identity=form.identity(),
            by=request.user,
            reason=data["reason"],
            expected_version=data["version"],
        )

    return form_page(request, patient, form, title=_("Correct identity"), action=action, done=_("Identity corrected."))


@require_http_methods(["GET", "POST"])
def consent_view(request, study_id):
    """Record consent, or correct the recorded one (with a reason)."""
    patient = editable_patient(request, study_id)
    consent = patient.consents.filter(voided_at__isnull=True).first()
    if consent is None:
        form = forms.ConsentForm(request.POST or None)
    else:
        initial = correction_initial(consent, ["form_version", "signed_on"])
        form = forms.ConsentEditForm(request.POST or None, initial=initial)

    def action(data):
        if consent is None:
            services.consent_record(
                patient=patient, form_version=data["form_version"], signed_on=data["signed_on"], by=request.user
            )
        else:
            services.consent_update(
                consent=consent,
                form_version=data["form_version"],
                signed_on=data["signed_on"],
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
            )

    title = _("Consent") if consent is None else _("Correct consent")
    return form_page(request, patient, form, title=title, action=action, done=_("Consent saved."))


@require_http_methods(["GET", "POST"])
def baseline_view(request, study_id):
    """Record baseline, or correct it (with a reason)."""
    patient = editable_patient(request, study_id)
    baseline = patient.baselines.filter(voided_at__isnull=True).first()
    if baseline is None:
        form = forms.BaselineForm(request.POST or None)
    else:
        initial = correction_initial(baseline, forms.BaselineForm.base_fields)
        form = forms.BaselineEditForm(request.POST or None, initial=initial)

    def action(data):
        if baseline is None:
            services.baseline_record(patient=patient, data=form.baseline(), by=request.user)
        else:
            services.baseline_update(
                baseline=baseline,
                data=form.baseline(),
                by=request.user,
                reason=data["reason"],
                expected_version=data["version"],
            )

    title = _("Baseline") if baseline is None else _("Correct baseline")
    return form_page(request, patient, form, title=title, action=action, done=_("Baseline saved."))


@require_http_methods(["GET", "POST"])
def withdraw_view(request, study_id):
    patient = editable_patient(request, study_id)
    form = forms.WithdrawForm(request.POST or None)
    return form_page(
        request,
        patient,
        form,
        title=_("Withdraw from the trial"),
        action=lambda data: services.patient_withdraw(patient=patient, by=request.user, **data),
        done=_("%(study_id)s withdrawn.") % {"study_id": patient.study_id},
        danger=True,
    )


def _void_page(request, study_id, *, title, record_of, void):
    patient = editable_patient(request, study_id)
    record = record_of(patient)
    form = forms.VoidForm(request.POST or None)
    return form_page(
        request,
        patient,
        form,
        title=title,
        action=lambda data: void(record, by=request.user, reason=data["reason"]),
        done=_("%(title)s: done.") % {"title": title},
        danger=True,
    )


@require_http_methods(["GET", "POST"])
def consent_void_view(request, study_id):
    return _void_page(
        request,
        study_id,
        title=_("Void consent entered in error"),
        record_of=lambda p: _active_or_404(p.consents),
        void=lambda r, **kw: services.consent_void(consent=r, **kw),
    )


@require_http_methods(["GET", "POST"])
def baseline_void_view(request, study_id):
    return _void_page(
        request,
        study_id,
        title=_("Void baseline entered in error"),
        record_of=lambda p: _active_or_404(p.baselines),
        void=lambda r, **kw: services.baseline_void(baseline=r, **kw),
    )


@require_http_methods(["GET", "POST"])
def patient_void_view(request, study_id):
    return _void_page(
        request,
        study_id,
        title=_("Void registration entered in error"),
        record_of=lambda p: p,
        void=lambda r, **kw: services.patient_void(patient=r, **kw),
    )


def _active_or_404(related_manager):
    from django.http import Http404

    record = related_manager.filter(voided_at__isnull=True).first()
    if record is None:
        raise Http404("Nothing to void.")
    return record
