"""The ODM file of the study as the user may read it: its parts gathered, read on one database snapshot."""

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from core.models import Site
from core.selectors import arm_results_visible
from exchange.odm import clinical
from exchange.odm.admin_data import admin_data
from exchange.odm.audit import audit_usernames
from exchange.odm.configuration import study_config
from exchange.odm.metadata import build_metadata
from exchange.odm.writer import FileHeader, Study, odm_chunks
from quality.selectors import trial_get


@contextmanager
def _one_snapshot():
    """A read-only REPEATABLE READ transaction: every batch sees the database as the file's first query did.

    Inside an open transaction (a test) there is none to start; the reads share that transaction instead.
    """
    if connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


def _study() -> Study:
    trial = trial_get()
    if trial is None:
        return Study("ST.1", "Trial", "Trial", "Trial")
    registration = f" Registration: {trial.registration_id}." if trial.registration_id else ""
    return Study(f"ST.{trial.pk}", trial.name, f"{trial.name}.{registration}", trial.registration_id or trial.name)


def _counted(subjects: Iterable[clinical.Subject], progress) -> Iterator[clinical.Subject]:
    for subject in subjects:
        progress.rows += 1
        yield subject


def odm_document(*, user, site: Site | None, audit: bool, progress) -> Iterator[bytes]:
    """The ODM 1.3.2 Snapshot file's bytes, chunk by chunk; `progress.rows` counts the subjects sent."""
    with _one_snapshot():
        now = timezone.now()
        metadata = build_metadata(study_config())
        header = FileHeader(f"ODM.{uuid.uuid4()}", now, "SingleSite" if site else "All")
        admin = admin_data(today=timezone.localdate(), audit_usernames=audit_usernames() if audit else set())
        blinded = not arm_results_visible(user)
        subjects = _counted(
            clinical.subjects(user=user, metadata=metadata, site=site, blinded=blinded, audit=audit), progress
        )
        try:
            yield from odm_chunks(header, _study(), metadata, admin, subjects)
        finally:
            # A client gone mid-file: the server-side cursors close while their transaction is still open.
            subjects.close()
