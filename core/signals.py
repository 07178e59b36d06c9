"""Account events from Django's authentication signals: the documented hook that every login path sends
(the login page, the admin's login, `authenticate()` at the token endpoint and the e-signature), so no
path can log in, out or fail without its event. The receivers only hand over to core.lockout and
core.account_events; connected in core/apps.py."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from core.account_events import account_event_record
from core.lockout import login_failure_record
from core.models import AccountEventKind


@receiver(user_logged_in, dispatch_uid="core.account_events.login")
def login_recorded(sender, request, user, **kwargs):
    account_event_record(kind=AccountEventKind.LOGIN, user=user, request=request)


@receiver(user_logged_out, dispatch_uid="core.account_events.logout")
def logout_recorded(sender, request, user, **kwargs):
    if user is not None:  # logging out an anonymous visitor is nobody's logout
        account_event_record(kind=AccountEventKind.LOGOUT, user=user, request=request)


@receiver(user_login_failed, dispatch_uid="core.account_events.login_failed")
def login_failure_recorded(sender, credentials, request=None, **kwargs):
    login_failure_record(request=request, credentials=credentials)
