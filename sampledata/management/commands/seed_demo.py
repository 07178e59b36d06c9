from django.core.management.base import BaseCommand

from analysis.services import statistics_refresh_if_stale
from sampledata.demo import DEFAULT_PASSWORD, demo_trial_seed


class Command(BaseCommand):
    help = "Load the demo trial of docs/paper.md (idempotent) and print the demo accounts."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEFAULT_PASSWORD, help="Password of every demo account")

    def handle(self, *args, password, **options):
        summary = demo_trial_seed(password=password)
        self.stdout.write(
            f"Demo trial: {summary.created_patients} women enrolled now, {summary.existing_patients} already present, "
            f"{summary.randomized_patients} randomized now, {summary.backdated_randomizations} randomizations dated "
            "to the historical trial."
        )
        entered = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in (summary.clinical_records or {}).items())
        self.stdout.write(f"Clinical records entered now: {entered}.")
        # Only when the data changed: a second run must leave no new job. Eager mode (no broker) computes the
        # dashboards' snapshot now; with a broker a worker does.
        job = statistics_refresh_if_stale()
        if job is None:
            self.stdout.write("Statistics: the snapshot is up to date (or its recomputation is already queued).")
        else:
            job.refresh_from_db()
            self.stdout.write(f"Statistics job {job.pk}: {job.status}.")
        self.stdout.write(f"Demo accounts (password: {password}):")
        for username, full_name in summary.users:
            self.stdout.write(f"  {username} ({full_name})")
