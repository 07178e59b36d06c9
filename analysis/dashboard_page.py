"""The dashboard's figures as HTML, rendered once per snapshot and served from the cache afterwards.

A snapshot never changes once stored, so its rendering for a population, a blinding and a language is
fixed too: the cache key names all four, and a new snapshot is a new key (nothing to invalidate). This
keeps the page's cost flat however many women the trial holds (rendering the tables of a 100,000-woman
snapshot takes ~100 ms; reading the cached HTML, well under 1 ms). The page's user-dependent parts (the
CSRF token, the staleness banner, the navigation) stay outside the cached fragment.
"""

from django.core.cache import cache
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from analysis.dashboard_tables import dashboard_context
from analysis.models import StatisticsSnapshot
from analysis.selectors import snapshot_get

# Bump when the fragment's template or context changes shape: cached renderings of the old one then go unused.
FRAGMENT_VERSION = 1
CACHE_SECONDS = 24 * 3600


def questionnaire_label(key: str) -> str:
    """A questionnaire row's label in the user's language (the snapshot keeps the English one for the API)."""
    _qol, instrument, scale, span = key.split(".")
    values = {"instrument": instrument, "scale": _(scale)}
    if "-" in span:
        last, first = span.split("-")
        return _("%(instrument)s %(scale)s: change %(first)s→%(last)s") % {**values, "first": first, "last": last}
    return _("%(instrument)s %(scale)s at %(timepoint)s") % {**values, "timepoint": span}


def fragment_cache_key(snapshot_id: int, *, population: str, by_arm: bool) -> str:
    blinding = "by-arm" if by_arm else "pooled"
    return f"dashboard-figures:v{FRAGMENT_VERSION}:{snapshot_id}:{population}:{blinding}:{get_language()}"


def figures_html(snapshot_id: int, *, population: str, by_arm: bool) -> str:
    """The figures section of the dashboard for one snapshot (from the cache when rendered before)."""
    key = fragment_cache_key(snapshot_id, population=population, by_arm=by_arm)
    html = cache.get(key)
    if html is None:
        html = _render(snapshot_get(snapshot_id), population=population, by_arm=by_arm)
        cache.set(key, html, CACHE_SECONDS)
    return mark_safe(html)  # our own template's output, escaped when it was rendered


def _render(snapshot: StatisticsSnapshot, *, population: str, by_arm: bool) -> str:
    context = dashboard_context(snapshot, population=population, by_arm=by_arm, stale=False)
    for entry in context["questionnaires"]:
        entry["display_label"] = questionnaire_label(entry["key"])
    for point in context["charts"]["forest"]:
        point["label"] = _(point["label"])
    return render_to_string("analysis/_dashboard_figures.html", context)
