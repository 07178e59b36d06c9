"""Pages of the data-quality workflow: query lists and threads, missing forms. The database lock page is
quality.lock_views; the casebook review reads across apps (casebook.views). Thin: services decide."""

from django.contrib import messages as flash
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from core import access
from core.exceptions import DomainError
from core.forms import add_domain_errors, run_form_action
from quality import selectors, services
from quality.forms import MessageForm
from quality.models import QueryStatus
from quality.query_forms import BulkQueryForm, QueryFilterForm
from quality.services.bulk_queries import MAX_BATCH

PAGE_SIZE = 50


@require_http_methods(["GET", "POST"])
def query_list_view(request):
    """The queries of the user's sites, filtered and paginated; POST: the ticked ones answered or closed."""
    if request.method == "POST":
        return _bulk_action(request)
    return _query_list_page(request)


def _query_list_page(request, *, bulk=None, status: int = 200):
    sites, form_keys = selectors.query_filter_choices(user=request.user)
    filters = QueryFilterForm(request.GET or None, sites=sites, form_keys=form_keys)
    queries = selectors.query_list(user=request.user, **filters.valid_filters())
    paginator = Paginator(queries, PAGE_SIZE)
    requested = request.GET.get("page", "1")
    page = paginator.get_page(requested)
    entry_sites = access.data_entry_site_ids(request.user)
    may_close = request.user.has_perm("core.raise_query")
    context = {
        "filters": filters,
        "page": page,
        "page_range": paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "page_note": _page_note(requested, page),
        "filter_query": _without_page(request),
        "bulk": bulk or BulkQueryForm(),
        "may_answer": bool(entry_sites),
        "may_close": may_close,
        "selectable": {
            q.pk
            for q in page
            if (q.status == QueryStatus.OPEN and q.patient.site_id in entry_sites)
            or (may_close and q.status != QueryStatus.CLOSED)
        },
        # After a refusal the same queries stay ticked, to untick the ones named and try again.
        "ticked": set(request.POST.getlist("query")[:MAX_BATCH]),
    }
    return render(request, "quality/query_list.html", context, status=status)


def _page_note(requested: str, page) -> str:
    if requested == str(page.number):
        return ""
    return _("There is no page “%(requested)s”: showing page %(page)d of %(pages)d.") % {
        "requested": requested[:20],
        "page": page.number,
        "pages": page.paginator.num_pages,
    }


def _without_page(request) -> str:
    kept = request.GET.copy()
    kept.pop("page", None)
    return kept.urlencode()


def _bulk_action(request):
    form = BulkQueryForm(request.POST)
    if not form.is_valid():
        return _query_list_page(request, bulk=form, status=400)
    values = form.cleaned_data
    service, done = BULK_STEPS[values["action"]]
    try:
        changed = service(ids=values["query"], message=values["message"], by=request.user, versions=values["versions"])
    except PermissionDenied as refused:
        form.add_error(None, str(refused))
        return _query_list_page(request, bulk=form, status=403)
    except DomainError as error:
        add_domain_errors(form, error)
        return _query_list_page(request, bulk=form, status=error.status_code)
    flash.success(request, done(len(changed)) % {"count": len(changed)})
    return redirect(request.get_full_path())


BULK_STEPS = {
    "answer": (
        services.queries_answer,
        lambda n: ngettext("%(count)d query answered.", "%(count)d queries answered.", n),
    ),
    "close": (
        services.queries_close,
        lambda n: ngettext("%(count)d query closed.", "%(count)d queries closed.", n),
    ),
}


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
        "age_days": query.age_days,  # as the list shows it (selectors.query_list)
    }
    return render(request, "quality/query_detail.html", context)


def missing_forms_view(request):
    site = request.GET.get("site", "").strip().upper()
    overdue_only = request.GET.get("overdue") == "1"
    rows = selectors.missing_forms(user=request.user, site_code=site, overdue_only=overdue_only)
    return render(request, "quality/missing.html", {"rows": rows, "site": site, "overdue_only": overdue_only})
