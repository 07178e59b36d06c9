"""Print a one-time set-password link for an account, for clinics without e-mail (audited)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from core.accounts import account_password_link_print


class Command(BaseCommand):
    help = "Print a one-time link with which USER sets her own password; recorded in the accounts' trail."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", default="Password link given in person by the server's operator")
        parser.add_argument("--base-url", default=settings.SITE_URL, help="Default: DJANGO_SITE_URL")

    def handle(self, *args, username, reason, base_url, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account named {username!r}.")
        if not user.is_active:
            raise CommandError(f"The account {username!r} is deactivated: reactivate it first.")
        link = account_password_link_print(user=user, base_url=base_url, reason=reason)
        self.stdout.write(link)
