"""Pages of the data-quality workflow: query lists and threads, missing forms. The database lock page is
quality.lock_views; the casebook review reads across apps (casebook.views). Thin: services decide."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core import access
from core.forms import run_form_action
from quality import selectors, services
from quality.forms import MessageForm, QueryFilterForm
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
        if form.is_valid() and run_form_action(
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


def missing_forms_view(request):
    site = request.GET.get("site", "").strip().upper()
    overdue_only = request.GET.get("overdue") == "1"
    rows = selectors.missing_forms(user=request.user, site_code=site, overdue_only=overdue_only)
    return render(request, "quality/missing.html", {"rows": rows, "site": site, "overdue_only": overdue_only})
