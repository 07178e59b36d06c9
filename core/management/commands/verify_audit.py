from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS

from core.audit_chain import Broken, verify_chain


class Command(BaseCommand):
    help = (
        "Recompute the audit hash chain from the audit rows; exit 1 naming the first broken link, else print "
        "how many links were verified and the head (record it elsewhere: a chain cut short at its end only "
        "shows against a recorded head)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, **options):
        result = verify_chain(options["database"])
        if isinstance(result, Broken):
            raise CommandError(f"Audit chain broken: {result.message}")
        self.stdout.write(
            f"Audit chain intact: {result.links} links verified; head link {result.head_seq}, hash {result.head_hash}"
        )
