"""The ODM file describes one moment: outside a transaction (as a streamed response is read) every batch
is read on the snapshot of the file's first query, so a change committed while the file streams is not
half in it; and a client gone midway leaves the connection clean (its cursors closed inside that
transaction)."""

import gc
import sys
import threading
from decimal import Decimal

import pytest
from django.db import connection

from analysis.export_api import Progress
from exchange.odm.document import odm_document
from patients.models import Baseline
from patients.services import baseline_update
from tests import factories as f
from tests.exchange.odm_world import item_values, parse


@pytest.mark.django_db(transaction=True)
def test_a_change_committed_while_the_file_streams_is_not_in_it(site_a, staff_site_a, statistician, monkeypatch):
    patient = f.randomizable_patient(site_a, staff_site_a)
    chunks = odm_document(user=statistician, site=None, audit=False, progress=Progress())
    head = next(chunks)  # the metadata and admin data: the snapshot is taken

    def correct_the_weight():
        try:
            baseline = Baseline.objects.get(patient=patient, voided_at__isnull=True)
            data = f.baseline_input(weight_kg=Decimal("70.0"))
            baseline_update(baseline=baseline, data=data, by=staff_site_a, reason="Scale error", expected_version=None)
        finally:
            connection.close()

    writer = threading.Thread(target=correct_the_weight)
    writer.start()
    writer.join()
    values = item_values(parse(head + b"".join(chunks)))
    assert values["I.BASELINE.WEIGHT_KG"] == ["56"]
    assert Baseline.objects.get(patient=patient, voided_at__isnull=True).weight_kg == Decimal("70.0")

    f.screen(site_a, staff_site_a)
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    monkeypatch.setattr("exchange.odm.writer.FLUSH_BYTES", 1)  # a chunk per subject: stop between two
    monkeypatch.setattr("exchange.odm.clinical.BATCH_PATIENTS", 1)  # the patients' cursor stays open
    abandoned = odm_document(user=statistician, site=None, audit=True, progress=Progress())
    next(abandoned)
    next(abandoned)  # the first subject: her batch's cursors are open
    abandoned.close()
    gc.collect()
    assert unraisable == []
    assert not connection.in_atomic_block and Baseline.objects.filter(patient=patient).exists()
