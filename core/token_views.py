"""My tokens: every signed-in user lists her own live API tokens and revokes one (never anyone else's)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from knox.models import AuthToken

from core.tokens import token_revoke, user_token_get, user_tokens_active


@require_GET
def tokens_view(request):
    return render(request, "accounts/tokens.html", {"tokens": user_tokens_active(request.user)})


@require_POST
def token_revoke_view(request, token_key: str):
    try:
        token = user_token_get(user=request.user, token_key=token_key)
    except (AuthToken.DoesNotExist, AuthToken.MultipleObjectsReturned):
        raise Http404(_("No such token of yours.")) from None
    token_revoke(token=token, by=request.user, reason="Revoked on the My tokens page", request=request)
    messages.success(request, _("Token %(prefix)s… revoked.") % {"prefix": token.token_key[:8]})
    return redirect("tokens:list")
