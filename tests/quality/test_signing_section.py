"""The signature section of the casebook review (id="signature"): what is signed (forms and states, open
items, the casebook hash the service will sign), a meaning the signer must choose, and after signing the
signature itself in place of the form."""

import re
from datetime import UTC

import pytest
from django.urls import reverse

from quality import selectors
from quality.models import CasebookSignature
from tests.factories import PASSWORD, consented_patient, screen

pytestmark = pytest.mark.django_db


@pytest.fixture
def complete(site_a, staff_site_a):
    return screen(site_a, staff_site_a, eligible=False)  # complete with its screening form alone


def _section(client, user, patient) -> str:
    client.force_login(user)
    page = client.get(reverse("casebook:review", args=[patient.study_id])).content.decode()
    return re.search(
        r'<div class="card mb-4" id="signature">.*?(?=<div class="card mb-4" id="lock-card">|$)', page, re.S
    ).group(0)


def _sign(client, user, patient, **overrides):
    client.force_login(user)
    body = {"action": "sign", "username": user.get_username(), "password": PASSWORD, "meaning": "approval"}
    return client.post(reverse("casebook:review", args=[patient.study_id]), {**body, **overrides})


def test_the_section_shows_what_is_signed_and_the_hash_the_service_signs(client, complete, investigator_site_a):
    section = _section(client, investigator_site_a, complete)
    book = selectors.casebook_get(complete)
    assert f'<code class="d-block text-break small mb-3" id="casebook-hash">{book.content_hash}</code>' in section
    assert re.search(r'data-signed-form="screening".*?Screening.*?complete', section, re.S)
    assert 'id="no-open-items"' in section and 'id="sign-form"' in section
    _sign(client, investigator_site_a, complete)
    assert CasebookSignature.objects.get().content_hash == book.content_hash


def test_open_items_are_listed_and_no_form_is_offered(client, site_a, staff_site_a, investigator_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    section = _section(client, investigator_site_a, patient)
    assert 'id="sign-blockers"' in section and "Baseline is not started." in section
    assert 'data-signed-form="baseline"' in section and 'id="sign-form"' not in section
    # A monitor sees what would be signed, without a form to sign.
    assert 'id="casebook-hash"' in _section(client, monitor, patient)


def test_the_meaning_is_chosen_by_the_signer_not_preselected(client, complete, investigator_site_a):
    section = _section(client, investigator_site_a, complete)
    radios = re.findall(r'<input type="radio" name="meaning"[^>]*>', section)
    assert len(radios) == 2 and not any("checked" in r for r in radios)
    refused = _sign(client, investigator_site_a, complete, meaning="")
    assert refused.status_code == 400
    assert 'data-field="meaning">Choose what your signature means.</div>' in refused.content.decode()
    assert not CasebookSignature.objects.exists()


def test_after_signing_the_signature_replaces_the_form(client, complete, investigator_site_a, monitor):
    assert investigator_site_a.get_full_name()
    signed = _sign(client, investigator_site_a, complete)
    assert signed.status_code == 302 and signed.url.endswith("#signature")
    signature = CasebookSignature.objects.get()
    section = _section(client, investigator_site_a, complete)
    record = re.search(r'<div class="text-success" id="signature-record" data-valid="true">.*?</code>', section, re.S)
    assert record, section
    assert f"<strong>{investigator_site_a.get_full_name()}</strong>" in record.group(0)
    assert "Approval: I have reviewed this casebook" in record.group(0)
    assert f"{signature.signed_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in record.group(0)
    assert signature.content_hash in record.group(0)
    for gone in ('id="sign-form"', 'id="casebook-hash"', 'id="signed-forms"'):
        assert gone not in section
    assert 'id="sign-form"' not in _section(client, monitor, complete)
