from django.urls import path

from core import lockout_views, token_views

app_name = "tokens"

urlpatterns = [
    path("", token_views.tokens_view, name="list"),
    path("<str:token_key>/revoke/", token_views.token_revoke_view, name="revoke"),
    path("locked-accounts/", lockout_views.locked_accounts_view, name="locked_accounts"),
]
