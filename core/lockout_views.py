"""Locked accounts: the administrator sees the accounts locked after repeated failures and unlocks one,
giving a reason (an ACCOUNT_UNLOCKED account event in the trail)."""

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core.exceptions import DomainError
from core.forms import BootstrapForm, add_domain_errors
from core.lockout import UNLOCK_PERMISSION, account_unlock, locked_accounts


class UnlockForm(BootstrapForm):
    user = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=500)


@require_http_methods(["GET", "POST"])
def locked_accounts_view(request):
    if not request.user.has_perm(UNLOCK_PERMISSION):
        raise PermissionDenied(_("Only the administrator unlocks accounts."))
    form = UnlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        account = get_object_or_404(get_user_model(), pk=form.cleaned_data["user"])
        try:
            account_unlock(user=account, reason=form.cleaned_data["reason"], by=request.user, request=request)
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, _("%(username)s's account unlocked.") % {"username": account.get_username()})
            return redirect("tokens:locked_accounts")
    context = {"accounts": locked_accounts(), "form": form, "failed_user": form.data.get("user")}
    return render(request, "accounts/locked_accounts.html", context)
