"""The home page's data-quality work (core/worklists.py): forms to enter and queries to answer for site
staff, casebooks ready to sign for investigators, forms to verify and answered queries for monitors.

One casebook computation (quality.selectors.casebooks) serves every section, so the page costs the same
number of queries for 3 patients as for 3,000.
"""

from collections import Counter

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import access
from core.worklists import DATA_ENTRY, INVESTIGATOR, MAX_ENTRIES, MONITOR, WorkEntry, WorkItem, WorkSection
from patients.models import Patient
from quality import catalogue, selectors
from quality.models import DataQuery, QueryStatus
from quality.services import signature_blockers


def _url(name: str, **query) -> str:
    return reverse(name) + (f"?{urlencode(query)}" if query else "")


def _patients(user, *, entry_sites, sign_sites, monitors: bool) -> list[Patient]:
    """Every patient some section needs: a monitor's readable sites, else the sites she enters or signs."""
    where = access.site_filter(user) if monitors else Q(site_id__in=entry_sites | sign_sites)
    patients = Patient.objects.filter(where, voided_at__isnull=True).select_related("site")
    return list(patients.order_by("site__code", "sequence_number"))


def _query_counts(user, *, entry_sites, monitors: bool) -> Counter:
    """Open queries at the sites she enters data for; answered ones at the sites a monitor reads."""
    rows = (
        DataQuery.objects.filter(access.site_filter(user, "patient__site_id"))
        .filter(status__in=[QueryStatus.OPEN, QueryStatus.ANSWERED])
        .values_list("patient__site_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counts: Counter = Counter()
    for site_id, status, n in rows:
        if status == QueryStatus.OPEN and site_id in entry_sites:
            counts["to_answer"] += n
        if status == QueryStatus.ANSWERED and monitors:
            counts["to_close"] += n
    return counts


def _data_entry(patients, books, entry_sites, queries: Counter) -> WorkSection:
    """What the missing-forms page lists (all, and overdue only) and the open queries of her sites."""
    missing = [
        f for p in patients if p.site_id in entry_sites for f in books[p.pk].forms if f.state in catalogue.NOT_DONE
    ]
    overdue = sum(1 for f in missing if f.overdue)
    items = (
        WorkItem("forms_due", _("Forms to enter or finish"), len(missing), _url("quality:missing")),
        WorkItem("forms_overdue", _("Overdue forms"), overdue, _url("quality:missing", overdue=1)),
        WorkItem(
            "queries_to_answer",
            _("Queries to answer"),
            queries["to_answer"],
            _url("quality:queries", status=QueryStatus.OPEN),
        ),
    )
    return WorkSection(DATA_ENTRY, _("Data entry"), items)


def _ready_note(book, was_signed: bool) -> str:
    unverified = sum(1 for f in book.forms if f.state == catalogue.COMPLETE)
    note = (
        ngettext("%(count)d form not verified", "%(count)d forms not verified", unverified) % {"count": unverified}
        if unverified
        else _("every form verified")
    )
    return _("%(note)s; changed since it was signed") % {"note": note} if was_signed else note


def _investigator(patients, books, sign_sites) -> WorkSection:
    """Casebooks she may sign now: nothing blocks the signature and no valid one is on them yet."""
    mine = [p for p in patients if p.site_id in sign_sites]
    open_queries = selectors.open_query_counts([p.pk for p in mine])
    ready = [
        p for p in mine if not books[p.pk].signature_valid and not signature_blockers(books[p.pk], open_queries[p.pk])
    ]
    entries = tuple(
        WorkEntry(
            label=p.study_id,
            url=reverse("casebook:review", args=[p.study_id]) + "#signature",
            note=_ready_note(books[p.pk], books[p.pk].signature is not None),
        )
        for p in ready[:MAX_ENTRIES]
    )
    item = WorkItem("casebooks_to_sign", _("Casebooks ready to sign"), len(ready), entries=entries)
    return WorkSection(INVESTIGATOR, _("Investigator"), (item,))


def _monitor(patients, books, queries: Counter) -> WorkSection:
    """Complete forms not verified (or changed since), casebook by casebook, and answered queries."""
    waiting = [(p, sum(1 for f in books[p.pk].forms if f.state == catalogue.COMPLETE)) for p in patients]
    waiting = [(p, n) for p, n in waiting if n]
    entries = tuple(
        WorkEntry(
            label=p.study_id,
            url=reverse("casebook:review", args=[p.study_id]),
            count=n,
        )
        for p, n in waiting[:MAX_ENTRIES]
    )
    items = (
        WorkItem("forms_to_verify", _("Forms ready to verify"), sum(n for _p, n in waiting), entries=entries),
        WorkItem(
            "queries_to_close",
            _("Answered queries to close"),
            queries["to_close"],
            _url("quality:queries", status=QueryStatus.ANSWERED),
        ),
    )
    return WorkSection(MONITOR, _("Monitoring"), items)


def worklist_sections(user) -> list[WorkSection]:
    """The data-entry, investigator and monitor sections of the roles this user has."""
    entry_sites = access.data_entry_site_ids(user)
    sign_sites = access.member_site_ids(user) if user.has_perm("core.sign_casebook") else frozenset()
    monitors = user.has_perm("core.verify_source_data")
    if not (entry_sites or sign_sites or monitors):
        return []
    patients = _patients(user, entry_sites=entry_sites, sign_sites=sign_sites, monitors=monitors)
    books = selectors.casebooks(patients)
    queries = _query_counts(user, entry_sites=entry_sites, monitors=monitors)
    sections = []
    if entry_sites:
        sections.append(_data_entry(patients, books, entry_sites, queries))
    if sign_sites:
        sections.append(_investigator(patients, books, sign_sites))
    if monitors:
        sections.append(_monitor(patients, books, queries))
    return sections
