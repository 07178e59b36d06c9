"""manage.py import_labs FILE [--dry-run] [--skip-invalid] [--reason TEXT] --user USERNAME"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError

from labs.importing import lab_results_import


class Command(BaseCommand):
    help = "Import lab results from CSV (study_id,timepoint,drawn_at,analyte,value,unit); all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", required=True, help="Username the import is recorded under (site staff)")
        parser.add_argument("--dry-run", action="store_true", help="Check and show what would change; write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="Import the good rows even if some are bad")
        parser.add_argument("--reason", default="", help="Why stored values are changed (needed for updates)")

    def handle(self, *args, file: Path, user: str, dry_run: bool, skip_invalid: bool, reason: str, **options):
        if not file.is_file():
            raise CommandError(f"No such file: {file}")
        importer = get_user_model().objects.filter(username=user, is_active=True).first()
        if importer is None:
            raise CommandError(f"No active user '{user}'.")
        try:
            report = lab_results_import(
                content=file.read_bytes(),
                filename=file.name,
                by=importer,
                dry_run=dry_run,
                skip_invalid=skip_invalid,
                reason=reason,
            )
        except PermissionDenied as error:
            raise CommandError(str(error)) from error
        self._print(report, dry_run)
        if report.problems and not (skip_invalid and report.imported):
            raise CommandError(f"{report.bad_rows_total} bad row(s): nothing imported.")

    def _print(self, report, dry_run: bool) -> None:
        for problem in report.problems:
            where = f"line {problem.row}" if problem.row else "file"
            self.stderr.write(f"{where}{', ' + problem.column if problem.column else ''}: {problem.message}")
        listed = len(report.bad_rows)
        if listed < report.bad_rows_total:
            self.stderr.write(f"The problems of the first {listed} of {report.bad_rows_total} bad rows are listed.")
        for row, message in report.warnings:
            self.stdout.write(f"warning, line {row}: {message}")
        counts = ", ".join(f"{report.count(a)} {a}" for a in ("create", "update", "unchanged"))
        verb = "would import" if dry_run else ("imported" if report.imported else "imported nothing")
        summary = f"{report.rows_total} rows ({counts}, {report.skipped_invalid} skipped): {verb}."
        self.stdout.write(f"{summary} SHA-256 {report.file_sha256}")
