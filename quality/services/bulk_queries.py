"""Many queries at once: staff answer, monitors close, the ticked queries of the list with one message.

Each query still goes through its own service (query_answer, query_close), so each keeps its own message
in its thread and its own audit event with its own context (who, why). The batch is one transaction and
all or nothing: every query is checked first, and one that the user may not act on refuses the whole
batch, naming it, before anything is written.
"""

from collections.abc import Callable

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import access
from core.exceptions import ValidationFailed
from quality import selectors
from quality.models import DataQuery, QueryStatus
from quality.services.queries import query_answer, query_close

MAX_BATCH = 500  # ticked queries in one action: ten full pages, and a bound on a hand-made post
NAMED_AT_MOST = 12  # queries named in a refusal; the rest are counted


def queries_answer(*, ids: list[int], message: str, by, versions: dict[int, int] | None = None) -> list[DataQuery]:
    """Site staff answer many open queries of their sites with one message, each answered and audited singly."""
    if not access.data_entry_site_ids(by):
        raise PermissionDenied(_("Only staff of the patients' sites answer queries."))

    def refusals(query: DataQuery) -> str:
        if not access.can_enter_data(by, query.patient.site_id):
            return "site"
        return "" if query.status == QueryStatus.OPEN else "status"

    def answer(query: DataQuery, version: int) -> DataQuery:
        return query_answer(query=query, message=message, by=by, expected_version=version)

    return _batch(ids, versions or {}, by, refusals, answer)


def queries_close(*, ids: list[int], message: str, by, versions: dict[int, int] | None = None) -> list[DataQuery]:
    """A monitor closes many open or answered queries with one message, each closed and audited singly."""
    if not by.has_perm("core.raise_query"):
        raise PermissionDenied(_("Only a monitor (the role that raises queries) can close a query."))

    def refusals(query: DataQuery) -> str:
        return "" if query.status != QueryStatus.CLOSED else "closed"

    def close(query: DataQuery, version: int) -> DataQuery:
        return query_close(query=query, message=message, by=by, expected_version=version)

    return _batch(ids, versions or {}, by, refusals, close)


def _batch(
    ids: list[int],
    versions: dict[int, int],
    by,
    refusal: Callable[[DataQuery], str],
    step: Callable[[DataQuery, int], DataQuery],
) -> list[DataQuery]:
    ids = list(dict.fromkeys(ids))
    if not ids:
        raise ValidationFailed({"query": [_("Select at least one query.")]})
    if len(ids) > MAX_BATCH:
        raise ValidationFailed({"query": [_("Select at most %(limit)d queries at a time.") % {"limit": MAX_BATCH}]})
    with transaction.atomic():
        # Locked in one statement, in id order (as every batch locks them), before any is checked.
        queries = list(selectors.query_batch(user=by, ids=ids).select_for_update(of=("self",)))
        problems: dict[str, list[int]] = {}
        found = {q.pk for q in queries}
        problems["unknown"] = [pk for pk in ids if pk not in found]
        for query in queries:
            reason = refusal(query)
            if not reason and query.pk in versions and versions[query.pk] != query.version:
                reason = "changed"
            if reason:
                problems.setdefault(reason, []).append(query.pk)
        _refuse_if_any(problems)
        # Each service opens its own audit context (none is open here), so each query is audited singly.
        return [step(query, query.version) for query in queries]


def _numbers(ids: list[int]) -> str:
    named = ", ".join(f"#{pk}" for pk in sorted(ids)[:NAMED_AT_MOST])
    more = len(ids) - NAMED_AT_MOST
    return named if more <= 0 else _("%(named)s and %(count)d more") % {"named": named, "count": more}


def _refuse_if_any(problems: dict[str, list[int]]) -> None:
    messages = [_refusal(key, len(ids)) % {"numbers": _numbers(ids)} for key, ids in problems.items() if ids]
    if messages:
        raise ValidationFailed({"__all__": [_("Nothing was saved."), *messages]})


def _refusal(key: str, count: int) -> str:
    texts = {
        "unknown": ngettext(
            "Query %(numbers)s is not among the queries you can see.",
            "Queries %(numbers)s are not among the queries you can see.",
            count,
        ),
        "site": ngettext(
            "Query %(numbers)s is not at your sites: only staff of a patient's site answer her queries.",
            "Queries %(numbers)s are not at your sites: only staff of a patient's site answer her queries.",
            count,
        ),
        "status": ngettext(
            "Query %(numbers)s is not open: only an open query can be answered.",
            "Queries %(numbers)s are not open: only an open query can be answered.",
            count,
        ),
        "closed": ngettext(
            "Query %(numbers)s is already closed.",
            "Queries %(numbers)s are already closed.",
            count,
        ),
        "changed": ngettext(
            "Query %(numbers)s changed after the page was shown: reload the page and check it.",
            "Queries %(numbers)s changed after the page was shown: reload the page and check them.",
            count,
        ),
    }
    return texts[key]
