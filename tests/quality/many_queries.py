"""Many data queries made at once, straight into the tables (with their first message), for the tests of
the query list and its bulk actions: a page of 50 takes one statement, not 50 service calls."""

from datetime import timedelta
from itertools import count

from django.utils import timezone

from quality.models import DataQuery, MessageKind, QueryMessage, QueryOrigin, QueryStatus

_checks = count(1)


def many_queries(
    patient,
    n: int,
    *,
    by=None,
    status: str = QueryStatus.OPEN,
    origin: str = QueryOrigin.MANUAL,
    form: str = "consent",
    field: str = "signed_on",
    days_old: int = 0,
) -> list[DataQuery]:
    """`n` queries on one patient, opened `days_old` days ago (a minute apart), each with its question."""
    now = timezone.now()
    automatic = origin == QueryOrigin.AUTOMATIC
    queries = DataQuery.objects.bulk_create(
        DataQuery(
            patient=patient,
            form=form,
            field=field,
            status=status,
            origin=origin,
            check_code=f"test_check_{next(_checks)}" if automatic else "",
            raised_by=None if automatic else by,
            opened_at=now - timedelta(days=days_old, minutes=i + 1),
            closed_at=now if status == QueryStatus.CLOSED else None,
        )
        for i in range(n)
    )
    author = "system" if automatic or by is None else by.get_username()
    QueryMessage.objects.bulk_create(
        QueryMessage(query=q, kind=MessageKind.RAISED, author=None if automatic else by, author_name=author, text="?")
        for q in queries
    )
    return queries
