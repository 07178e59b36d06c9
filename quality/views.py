"""Pages of the data-quality workflow: query lists and threads, the casebook review (form states,
verification, signature, lock), missing forms, and the database lock. Thin: services decide."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors
from patients import selectors as patient_selectors
from quality import selectors, services
from quality.forms import MessageForm, QueryFilterForm, RaiseQueryForm, ReasonForm, SignForm
from quality.models import QueryStatus


def query_list_view(request):
    filters = QueryFilterForm(request.GET or None)
    values = filters.cleaned_data if filters.is_valid() else {}
    queries = selectors.query_list(
        user=request.user,
        status=values.get("status", ""),
        origin=values.get("origin", ""),
        study_id=values.get("study_id", "").strip(),
        site_code=values.get("site", "").strip().upper(),
    )[:500]
    return render(request, "quality/query_list.html", {"queries": queries, "filters": filters})


def _run(request, form, action, done: str) -> bool:
    """Call the service; show its refusal on the form (True when it succeeded)."""
    try:
        action(form.cleaned_data)
    except DomainError as error:
        add_domain_errors(form, error)
        return False
    messages.success(request, done)
    return True


@require_http_methods(["GET", "POST"])
def query_detail_view(request, pk: int):
    query = selectors.query_get(user=request.user, pk=pk)
    form = MessageForm(request.POST or None)
    action = request.POST.get("action", "")
    steps = {
        "answer": (services.query_answer, _("Answer sent to the monitor.")),
        "close": (services.query_close, _("Query closed.")),
        "reopen": (services.query_reopen, _("Query reopened.")),
    }
    if request.method == "POST":
        if action not in steps:
            raise Http404("No such action.")
        service, done = steps[action]
        if form.is_valid() and _run(
            request, form, lambda data: service(query=query, message=data["message"], by=request.user), done
        ):
            return redirect("quality:query", pk=query.pk)
    context = {
        "query": query,
        "form": form,
        "can_answer": query.status == QueryStatus.OPEN and access.can_enter_data(request.user, query.patient.site_id),
        "can_close": query.status != QueryStatus.CLOSED and request.user.has_perm("core.raise_query"),
        "can_reopen": query.status == QueryStatus.ANSWERED and request.user.has_perm("core.raise_query"),
        "age_days": selectors.query_age_days(query),
    }
    return render(request, "quality/query_detail.html", context)


def _casebook_context(request, patient, **forms):
    book = selectors.casebook_get(patient)
    user = request.user
    open_queries = selectors.open_query_counts([patient.pk])[patient.pk]
    raise_form = forms.pop("raise_form", None) or RaiseQueryForm(form_choices=[(f.key, f.label) for f in book.forms])
    return {
        "patient": patient,
        "book": book,
        "queries": selectors.query_list(user=user, study_id=patient.study_id),
        "can_verify": user.has_perm("core.verify_source_data"),
        "can_raise": user.has_perm("core.raise_query"),
        "can_sign": user.has_perm("core.sign_casebook") and patient.site_id in access.member_site_ids(user),
        "can_lock": user.has_perm("core.lock_database"),
        "sign_blockers": services.signature_blockers(book, open_queries),
        "raise_form": raise_form,
        "sign_form": forms.pop("sign_form", None) or SignForm(initial={"meaning": "approval"}),
        "lock_form": forms.pop("lock_form", None) or ReasonForm(),
    }


def _verify(request, patient, book):
    """One button per form, no fields: a refusal is shown as a message above the casebook."""
    try:
        services.form_verify(patient=patient, form=request.POST.get("form", ""), by=request.user)
    except DomainError as error:
        for text in (t for texts in error.errors.values() for t in texts):
            messages.error(request, text)
    else:
        messages.success(request, _("Verified."))
    return None


def _raise(request, patient, book):
    form = RaiseQueryForm(request.POST, form_choices=[(f.key, f.label) for f in book.forms])
    raise_query = lambda d: services.query_raise(patient=patient, by=request.user, **d)  # noqa: E731
    ok = form.is_valid() and _run(request, form, raise_query, _("Query raised."))
    return None if ok else {"raise_form": form}


def _sign(request, patient, book):
    form = SignForm(request.POST)
    sign = lambda d: services.casebook_sign(patient=patient, by=request.user, request=request, **d)  # noqa: E731
    ok = form.is_valid() and _run(request, form, sign, _("Casebook signed."))
    return None if ok else {"sign_form": form}


def _lock_step(service, done):
    def step(request, patient, book):
        form = ReasonForm(request.POST)
        change = lambda d: service(patient=patient, reason=d["reason"], by=request.user)  # noqa: E731
        ok = form.is_valid() and _run(request, form, change, done)
        return None if ok else {"lock_form": form}

    return step


CASEBOOK_ACTIONS = {
    "verify": _verify,
    "raise": _raise,
    "sign": _sign,
    "lock": _lock_step(services.casebook_lock, gettext_lazy("Casebook locked.")),
    "unlock": _lock_step(services.casebook_unlock, gettext_lazy("Casebook unlocked.")),
}


@require_http_methods(["GET", "POST"])
def casebook_view(request, study_id: str):
    patient = patient_selectors.patient_get(user=request.user, study_id=study_id)
    if request.method == "GET":
        return render(request, "quality/casebook.html", _casebook_context(request, patient))
    step = CASEBOOK_ACTIONS.get(request.POST.get("action", ""))
    if step is None:
        raise Http404("No such action.")
    refused_forms = step(request, patient, selectors.casebook_get(patient))
    if refused_forms is None:
        return redirect("quality:casebook", study_id=study_id)
    return render(request, "quality/casebook.html", _casebook_context(request, patient, **refused_forms), status=400)


def missing_forms_view(request):
    site = request.GET.get("site", "").strip().upper()
    overdue_only = request.GET.get("overdue") == "1"
    rows = selectors.missing_forms(user=request.user, site_code=site, overdue_only=overdue_only)
    return render(request, "quality/missing.html", {"rows": rows, "site": site, "overdue_only": overdue_only})


@require_http_methods(["GET", "POST"])
def database_lock_view(request):
    if not request.user.has_perm("core.lock_database"):
        raise PermissionDenied(_("Only the statistician locks the database."))
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        locking = request.POST.get("action") == "lock"
        service = services.database_lock if locking else services.database_unlock
        if _run(request, form, lambda d: service(reason=d["reason"], by=request.user), _("Done.")):
            return redirect("quality:database_lock")
    context = {
        "form": form,
        "trial": selectors.trial_get(),
        "history": selectors.database_lock_history(),
    }
    return render(request, "quality/database_lock.html", context)
