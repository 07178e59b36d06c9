"""Stored words that the pages translate: core.terms keeps up with the models, scales, seeded configuration
and audit record names it marks, and the catalogue holds them."""

import pytest
from django.utils import translation

from tests.core.po_catalogue import COMMITTED


def test_stored_words_marked_in_core_terms_cover_their_sources():
    from core import terms
    from core.models import TrialStatus
    from labs.models import Flag
    from outcomes.scoring import RAND36_SCALES, SSRS_SUBSCALES
    from patients.models import PatientStatus

    with translation.override("en"):
        assert list(terms.TRIAL_STATUSES) == [str(label) for label in TrialStatus.labels]
    assert list(terms.PATIENT_STATUSES) == list(PatientStatus.values)
    assert list(terms.LAB_FLAGS) == list(Flag.values)
    assert set(terms.SCALES) == set(RAND36_SCALES) | set(SSRS_SUBSCALES)


def test_the_seeded_configuration_is_in_the_catalogue():
    import importlib

    from core import terms

    core_seed = importlib.import_module("core.migrations.0002_seed_trial_configuration")
    labs_seed = importlib.import_module("labs.migrations.0002_seed_analytes")
    outcomes_seed = importlib.import_module("outcomes.migrations.0002_seed_instruments")
    seeded = {
        core_seed.TRIAL["name"],
        "Trial centre (Shenzhen)",
        *(arm["label"] for arm in core_seed.ARMS),
        *(criterion[1] for criterion in core_seed.CRITERIA),
        *(timepoint[1] for timepoint in core_seed.TIMEPOINTS),
        *(analyte[1] for analyte in labs_seed.ANALYTES),
        *(instrument[1] for instrument in outcomes_seed.INSTRUMENTS),
    }
    assert seeded <= set(terms.CONFIGURATION)
    assert all((None, text) in COMMITTED for text in seeded)


@pytest.mark.django_db
def test_every_audit_record_name_of_the_history_page_is_marked(monkeypatch, site_a, staff_site_a):
    from casebook import selectors
    from core import terms
    from tests.factories import screen

    labels = []
    monkeypatch.setattr(
        selectors, "audit_entries", lambda model, *, record_label, **f: labels.append(record_label) or []
    )
    selectors.patient_audit_history(user=staff_site_a, patient=screen(site_a, staff_site_a))
    assert "Identity" in labels and set(labels) <= set(terms.AUDIT_RECORDS)


def test_the_ssrs_sources_note_lists_every_source():
    from outcomes.instruments import SOURCES_NOTE, SSRS_SOURCES

    listed = "; ".join(source.lower() for source in SSRS_SOURCES)
    assert f" Count the sources ticked from: {listed}. 0 = no source." == SOURCES_NOTE
