"""Pages that read across apps: the patient page, the casebook review (form states, verification, queries,
signature, lock) and the randomize step (it shows the quality form states of the forms randomization
needs); her audit history is casebook.history_views. Thin: the services of the apps below decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from casebook import selectors
from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors, run_form_action
from labs.selectors import patient_lab_timeline
from outcomes.selectors import patient_outcomes, questionnaire_slots
from patients import randomization
from patients import selectors as patient_selectors
from patients.forms import RandomizeForm
from quality import selectors as quality_selectors
from quality import services as quality_services
from quality.forms import RaiseQueryForm, ReasonForm, SignForm


def patient_view(request, study_id):
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    casebook = selectors.patient_casebook(user=request.user, patient=patient)
    timepoints, lab_rows, draws = patient_lab_timeline(patient=patient)
    context = {
        "casebook": casebook,
        "patient": patient,
        "timepoints": timepoints,
        "lab_rows": lab_rows,
        "draws": draws,
        "lab_chart": {row.analyte.code: row.chart_points for row in lab_rows if row.chart_points},
        **patient_outcomes(patient=patient),
        "questionnaire_slots": questionnaire_slots(),
    }
    return render(request, "casebook/patient.html", context)


@require_http_methods(["GET", "POST"])
def randomize_view(request, study_id):
    """Confirmation step, then allocation; the arm is shown on her page afterwards."""
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    if not access.can_enter_data(request.user, patient.site_id):
        raise PermissionDenied(_("Only staff of the patient's site randomize."))
    casebook = selectors.patient_casebook(user=request.user, patient=patient)
    form = RandomizeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            done = randomization.patient_randomize(patient=patient, by=request.user)
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(
                request,
                _("%(study_id)s randomized to %(arm)s — %(label)s.")
                % {"study_id": patient.study_id, "arm": done.arm.code, "label": _(done.arm.label)},
            )
            return redirect("casebook:patient", study_id=patient.study_id)
    return render(request, "casebook/randomize.html", {"patient": patient, "casebook": casebook, "form": form})


# --- Casebook review --------------------------------------------------------------------------------


def _review_context(request, patient, **forms):
    book = quality_selectors.casebook_get(patient)
    user = request.user
    open_queries = quality_selectors.open_query_counts([patient.pk])[patient.pk]
    raise_form = forms.pop("raise_form", None) or RaiseQueryForm(form_choices=[(f.key, f.label) for f in book.forms])
    return {
        "patient": patient,
        "book": book,
        "queries": quality_selectors.query_list(user=user, study_id=patient.study_id),
        "can_verify": user.has_perm("core.verify_source_data"),
        "can_raise": user.has_perm("core.raise_query"),
        "can_sign": user.has_perm("core.sign_casebook") and patient.site_id in access.member_site_ids(user),
        "can_lock": user.has_perm("core.lock_database"),
        "sign_blockers": quality_services.signature_blockers(book, open_queries),
        "raise_form": raise_form,
        "sign_form": forms.pop("sign_form", None) or SignForm(initial={"meaning": "approval"}),
        "lock_form": forms.pop("lock_form", None) or ReasonForm(),
    }


def _verify(request, patient, book):
    """One button per form, no fields: a refusal is shown as a message above the casebook."""
    try:
        quality_services.form_verify(patient=patient, form=request.POST.get("form", ""), by=request.user)
    except DomainError as error:
        for text in (t for texts in error.errors.values() for t in texts):
            messages.error(request, text)
    else:
        messages.success(request, _("Verified."))
    return None


def _raise(request, patient, book):
    form = RaiseQueryForm(request.POST, form_choices=[(f.key, f.label) for f in book.forms])
    raise_query = lambda d: quality_services.query_raise(patient=patient, by=request.user, **d)  # noqa: E731
    ok = form.is_valid() and run_form_action(request, form, raise_query, _("Query raised."))
    return None if ok else {"raise_form": form}


def _sign(request, patient, book):
    form = SignForm(request.POST)
    sign = lambda d: quality_services.casebook_sign(patient=patient, by=request.user, request=request, **d)  # noqa: E731
    ok = form.is_valid() and run_form_action(request, form, sign, _("Casebook signed."))
    return None if ok else {"sign_form": form}


def _lock_step(service, done):
    def step(request, patient, book):
        form = ReasonForm(request.POST)
        change = lambda d: service(patient=patient, reason=d["reason"], by=request.user)  # noqa: E731
        ok = form.is_valid() and run_form_action(request, form, change, done)
        return None if ok else {"lock_form": form}

    return step


REVIEW_ACTIONS = {
    "verify": _verify,
    "raise": _raise,
    "sign": _sign,
    "lock": _lock_step(quality_services.casebook_lock, gettext_lazy("Casebook locked.")),
    "unlock": _lock_step(quality_services.casebook_unlock, gettext_lazy("Casebook unlocked.")),
}


@require_http_methods(["GET", "POST"])
def review_view(request, study_id: str):
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    if request.method == "GET":
        return render(request, "casebook/review.html", _review_context(request, patient))
    step = REVIEW_ACTIONS.get(request.POST.get("action", ""))
    if step is None:
        raise Http404("No such action.")
    refused_forms = step(request, patient, quality_selectors.casebook_get(patient))
    if refused_forms is None:
        return redirect("casebook:review", study_id=study_id)
    return render(request, "casebook/review.html", _review_context(request, patient, **refused_forms), status=400)
