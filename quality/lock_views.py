"""The database lock page (the statistician's): the checklist of what is still open, then the trial frozen
(with a reason, and a second one when items are open), and lifted again with a reason."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.forms import run_form_action
from core.models import TrialStatus
from core.readiness import item_labels, lock_readiness
from quality import selectors, services
from quality.forms import ReasonForm
from quality.lock_forms import DatabaseLockForm


@require_http_methods(["GET", "POST"])
def database_lock_view(request):
    if not request.user.has_perm("core.lock_database"):
        raise PermissionDenied(_("Only the statistician locks the database."))
    trial = selectors.trial_get()
    locked = trial.status == TrialStatus.LOCKED
    form = (ReasonForm if locked else DatabaseLockForm)(request.POST if request.method == "POST" else None)
    # The page says which step it offered: a lock posted from a page shown before someone else locked
    # must not unlock (and the reverse).
    offered = request.POST.get("action")
    if request.method == "POST" and offered != ("unlock" if locked else "lock"):
        form.add_error(None, _("The database was locked or unlocked by someone else meanwhile: check and try again."))
    if request.method == "POST" and form.is_valid():
        if locked:
            change = lambda d: services.database_unlock(reason=d["reason"], by=request.user)  # noqa: E731
            done = _("Database unlocked.")
        else:
            change = lambda d: services.database_lock(by=request.user, **d)  # noqa: E731
            done = _("Database locked.")
        if run_form_action(request, form, change, done):
            return redirect("quality:database_lock")
    context = {
        "form": form,
        "trial": trial,
        "checklist": [] if locked else lock_readiness(),
        "history": _with_open_item_rows(selectors.database_lock_history()),
    }
    return render(request, "quality/database_lock.html", context, status=400 if form.errors else 200)


def _with_open_item_rows(locks):
    """Each past lock's open items by their labels (keys are stored; a key no check knows any more stays)."""
    labels = item_labels()
    for lock in locks:
        lock.open_item_rows = [(labels.get(key, key), count) for key, count in lock.open_items.items()]
    return locks
