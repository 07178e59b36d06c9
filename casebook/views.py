"""Pages that read across apps: the patient page, the casebook review (form states, verification, queries,
signature, lock) and the randomize step (it shows the quality form states of the forms randomization
needs); her audit history is casebook.history_views. Thin: the services of the apps below decide."""

from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from casebook import review_selectors, selectors
from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors, run_form_action
from labs.selectors import patient_lab_timeline
from outcomes.selectors import patient_outcomes
from patients import randomization
from patients import selectors as patient_selectors
from patients.forms import RandomizeForm
from quality import form_fields
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


def _form_choices(book) -> list[tuple[str, str]]:
    return [(f.key, f.label) for f in book.forms]


def _raise_initial(request, book) -> dict:
    """The form (and field) a query link or the last query chose: the form stays chosen for the next one."""
    form = request.GET.get("form", "")
    if form not in {f.key for f in book.forms}:
        return {}
    return {"form": form, "field": request.GET.get("field", "")}


def _review_context(request, patient, **forms):
    book = quality_selectors.casebook_get(patient)
    review = review_selectors.casebook_review(book=book)
    user = request.user
    open_queries = quality_selectors.open_query_counts([patient.pk])[patient.pk]
    raise_form = forms.pop("raise_form", None) or RaiseQueryForm(initial=_raise_initial(request, book))
    raise_form.offer(_form_choices(book), review.field_choices)
    can_sign = user.has_perm("core.sign_casebook") and patient.site_id in access.member_site_ids(user)
    return {
        "patient": patient,
        "book": book,
        "review": review,
        "queries": quality_selectors.query_list(user=user, study_id=patient.study_id),
        "can_verify": user.has_perm("core.verify_source_data"),
        "can_raise": user.has_perm("core.raise_query"),
        "can_sign": can_sign,
        "signed": book.signature is not None and book.signature_valid,
        "can_lock": user.has_perm("core.lock_database"),
        "sign_blockers": quality_services.signature_blockers(book, open_queries),
        "raise_form": raise_form,
        "sign_form": forms.pop("sign_form", None) or SignForm(),
        "lock_form": forms.pop("lock_form", None) or ReasonForm(),
    }


def _forms_to_verify(post, book) -> list[str]:
    """One form, a visit's forms, or every form of the casebook, as the button chose."""
    if post.get("scope") == "all":
        return [f.key for f in book.forms]
    if "visit" in post:
        return [f.key for f in book.forms if form_fields.visit_of(f.key) == post["visit"]]
    return [post.get("form", "")]


def _verify(request, patient, book):
    """Buttons without fields: what was verified, and what was not and why, are messages above the casebook."""
    try:
        report = quality_services.forms_verify(
            patient=patient, forms=_forms_to_verify(request.POST, book), by=request.user
        )
    except DomainError as error:
        for text in (t for texts in error.errors.values() for t in texts):
            messages.error(request, text)
        return None
    if report.verified:
        count = len(report.verified)
        text = ngettext("Verified %(count)d form: %(forms)s.", "Verified %(count)d forms: %(forms)s.", count)
        messages.success(request, text % {"count": count, "forms": ", ".join(report.verified)})
    if report.already:
        messages.info(request, _("Already verified: %(forms)s.") % {"forms": ", ".join(report.already)})
    if report.skipped:
        messages.warning(request, _("Not verified: %(reasons)s") % {"reasons": " ".join(report.skipped)})
    return None


def _raise(request, patient, book):
    form = RaiseQueryForm(request.POST, form_choices=_form_choices(book))
    raise_query = lambda d: quality_services.query_raise(patient=patient, by=request.user, **d)  # noqa: E731
    if form.is_valid() and run_form_action(request, form, raise_query, _("Query raised.")):
        url = reverse("casebook:review", args=[patient.study_id])
        return redirect(f"{url}?{urlencode({'form': form.cleaned_data['form']})}#raise-query-form")
    return {"raise_form": form}


def _sign(request, patient, book):
    form = SignForm(request.POST)
    sign = lambda d: quality_services.casebook_sign(patient=patient, by=request.user, request=request, **d)  # noqa: E731
    ok = form.is_valid() and run_form_action(request, form, sign, _("Casebook signed."))
    return redirect(reverse("casebook:review", args=[patient.study_id]) + "#signature") if ok else {"sign_form": form}


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
    """Every form with its values and state; verify, raise a query, sign, lock. A step answers None (back to
    the page), its own redirect, or the refused forms to show again (400)."""
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    if request.method == "GET":
        return render(request, "casebook/review.html", _review_context(request, patient))
    step = REVIEW_ACTIONS.get(request.POST.get("action", ""))
    if step is None:
        raise Http404("No such action.")
    outcome = step(request, patient, quality_selectors.casebook_get(patient))
    if isinstance(outcome, HttpResponse):
        return outcome
    if outcome is None:
        return redirect("casebook:review", study_id=study_id)
    return render(request, "casebook/review.html", _review_context(request, patient, **outcome), status=400)
