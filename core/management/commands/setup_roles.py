from django.core.management.base import BaseCommand

from core.roles import roles_sync


class Command(BaseCommand):
    help = "Create or update the role groups (site_staff, investigator, monitor, statistician, admin)."

    def handle(self, *args, **options):
        for role, count in roles_sync().items():
            self.stdout.write(f"{role}: {count} permissions")
