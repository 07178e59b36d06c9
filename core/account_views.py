"""Account pages: one's own password, set-password links, access approvals, the accounts' trail, access review."""

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.access_grants import access_grant_decide
from core.account_selectors import (
    access_grants_recent,
    access_grants_to_decide,
    access_review_rows,
    access_reviews_recent,
    account_audit_events,
)
from core.accounts import access_review_record, account_password_changed
from core.audit import audited
from core.exceptions import DomainError
from core.forms import AccessReviewForm, GrantDecisionForm, add_domain_errors, bootstrap_widgets
from core.models import AccessGrant, GrantStatus

REASON_OWN_PAGE = "Changed own password on the password page"
REASON_LINK = "Set own password from a one-time link"
HISTORY_LIMIT = 500


class PasswordChange(auth_views.PasswordChangeView):
    """Every logged-in user changes her own password; her API tokens end with the old one."""

    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        bootstrap_widgets(form)
        return form

    def form_valid(self, form):
        with audited(by=self.request.user, reason=REASON_OWN_PAGE):
            response = super().form_valid(form)
        account_password_changed(user=form.user, reason=REASON_OWN_PAGE)
        return response


class PasswordChangeDone(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"


@method_decorator(login_not_required, name="dispatch")
class SetPassword(auth_views.PasswordResetConfirmView):
    """The one-time link's page: works until used (the password's change ends it) or expired."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("accounts:set_password_done")

    def get_form(self, form_class=None):
        form = super().get_form(form_class)
        bootstrap_widgets(form)
        return form

    def form_valid(self, form):
        with audited(by=self.user, reason=REASON_LINK):
            response = super().form_valid(form)
        account_password_changed(user=self.user, reason=REASON_LINK)
        return response


@method_decorator(login_not_required, name="dispatch")
class SetPasswordDone(auth_views.PasswordResetCompleteView):
    template_name = "accounts/set_password_done.html"


def _require_approver(user) -> None:
    if not (user.has_perm("core.approve_site_access") or user.has_perm("core.approve_unblinded_access")):
        raise Http404("No such page.")


def approvals(request):
    """Requests for roles and memberships waiting for this user's decision."""
    _require_approver(request.user)
    grants = access_grants_to_decide(user=request.user)
    context = {"grants": grants, "form": GrantDecisionForm(), "recent": access_grants_recent()}
    return render(request, "accounts/approvals.html", context)


@require_POST
def approval_decide(request, pk: int):
    _require_approver(request.user)
    form = GrantDecisionForm(request.POST)
    if form.is_valid():
        grant = get_object_or_404(AccessGrant, pk=pk, status=GrantStatus.PENDING)
        try:
            access_grant_decide(
                grant=grant,
                approve=form.cleaned_data["decision"] == "approve",
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except PermissionDenied:
            raise Http404("No such request.") from None
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, _("Decision recorded."))
            return redirect("accounts:approvals")
    context = {"grants": access_grants_to_decide(user=request.user), "form": form, "recent": access_grants_recent()}
    return render(request, "accounts/approvals.html", context, status=400)


def account_history(request):
    """The accounts' audit trail, newest first (the API gives all of it, paginated)."""
    entries = account_audit_events(user=request.user)
    return render(request, "accounts/history.html", {"entries": list(reversed(entries))[:HISTORY_LIMIT]})


def access_review(request):
    """Every account's access, the unused ones flagged; the administrator records a periodic review."""
    rows = access_review_rows(user=request.user)
    form = AccessReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        access_review_record(
            by=request.user,
            remarks=form.cleaned_data["remarks"],
            accounts=len(rows),
            unused=[row.user.get_username() for row in rows if row.unused],
        )
        messages.success(request, _("Access review recorded."))
        return redirect("accounts:access_review")
    context = {"rows": rows, "form": form, "reviews": access_reviews_recent()}
    return render(request, "accounts/access_review.html", context)
