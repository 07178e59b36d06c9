"""The server operator's decision on an access request nobody in the application can decide.

The first investigator of a site (or the first statistician) has nobody to approve her: like
`createsuperuser`, this runs on the server only, and the decision is in the accounts' trail with its reason.
"""

from django.core.management.base import BaseCommand, CommandError

from core.access_grants import access_grant_decide
from core.exceptions import DomainError
from core.models import AccessGrant, GrantStatus


class Command(BaseCommand):
    help = "List pending access requests, or approve or reject one: access_decide [ID approve|reject --reason R]"

    def add_arguments(self, parser):
        parser.add_argument("grant", nargs="?", type=int)
        parser.add_argument("decision", nargs="?", choices=["approve", "reject"])
        parser.add_argument("--reason", default="")

    def handle(self, *args, grant, decision, reason, **options):
        if grant is None:
            pending_grants = AccessGrant.objects.filter(status=GrantStatus.PENDING)
            for pending in pending_grants.select_related("user", "group", "site", "requested_by"):
                self.stdout.write(f"{pending.pk}\t{pending}\trequested by {pending.requested_by}: {pending.reason}")
            return
        found = AccessGrant.objects.filter(pk=grant).first()
        if found is None or decision is None:
            raise CommandError("Give a pending request's id and approve or reject (without: the list).")
        try:
            access_grant_decide(grant=found, approve=decision == "approve", by=None, reason=reason)
        except DomainError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"{'approved' if decision == 'approve' else 'rejected'}: {found}")
