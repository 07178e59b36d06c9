"""The database lock page (the statistician's): the trial frozen, and lifted again, each with a reason."""

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from core.forms import run_form_action
from quality import selectors, services
from quality.forms import ReasonForm


@require_http_methods(["GET", "POST"])
def database_lock_view(request):
    if not request.user.has_perm("core.lock_database"):
        raise PermissionDenied(_("Only the statistician locks the database."))
    form = ReasonForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        locking = request.POST.get("action") == "lock"
        service = services.database_lock if locking else services.database_unlock
        if run_form_action(request, form, lambda d: service(reason=d["reason"], by=request.user), _("Done.")):
            return redirect("quality:database_lock")
    context = {
        "form": form,
        "trial": selectors.trial_get(),
        "history": selectors.database_lock_history(),
    }
    return render(request, "quality/database_lock.html", context)
