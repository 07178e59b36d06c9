import sys

from django.core.management.base import BaseCommand, CommandError

from sampledata.synthetic.service import SyntheticDataRefused, synthetic_trial_generate


class Command(BaseCommand):
    help = (
        "Generate a realistic synthetic trial (sites SYA, SYB, …) for benchmarks: screening, randomization, "
        "treatment, labs, outcomes, adverse events and questionnaires, written by COPY in one audited "
        "transaction. Deterministic for a seed. Refuses a database holding real patients unless --force."
    )

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=int, required=True, help="Women screened (about 85%% randomized)")
        parser.add_argument("--seed", type=int, required=True, help="Same seed, same trial")
        parser.add_argument("--sites", type=int, default=4, help="Synthetic sites, 1–26 (default 4)")
        parser.add_argument(
            "--awaiting-randomization",
            type=int,
            default=0,
            metavar="N",
            help="Add N consented women with a baseline, not yet randomized (the randomization benchmark uses them)",
        )
        parser.add_argument(
            "--force", action="store_true", help="Write even though the database holds real (non-synthetic) patients"
        )

    def handle(self, *args, patients, seed, sites, awaiting_randomization, force, **options):
        if patients < 1 or awaiting_randomization < 0:
            raise CommandError("--patients must be at least 1 and --awaiting-randomization not negative.")
        try:
            summary = synthetic_trial_generate(
                patients=patients,
                seed=seed,
                sites=sites,
                force=force,
                awaiting=awaiting_randomization,
                progress=self._progress,
            )
        except (SyntheticDataRefused, ValueError) as error:
            raise CommandError(str(error)) from error
        rows = sum(summary.rows.values())
        self.stdout.write(
            f"Synthetic trial: {summary.patients:,} women screened, {rows:,} rows in {summary.seconds:.1f} s "
            f"(seed {seed}, {sites} sites)."
        )
        for table, count in summary.rows.items():
            self.stdout.write(f"  {table}: {count:,}")

    def _progress(self, done: int, total: int) -> None:
        sys.stderr.write(f"\r  {done:,} / {total:,} women written")
        if done == total:
            sys.stderr.write("\n")
