"""Sign-off through the services: source-data verification of a form and the investigator's
e-signature of a casebook, bound to its content."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.test import RequestFactory

from core.exceptions import InvalidTransition, SignatureRefused
from patients import services as patient_services
from quality import selectors, services
from quality.models import CasebookSignature
from tests.factories import PASSWORD, baseline_input, consented_patient, identity, screen
from tests.quality.helpers import _states

pytestmark = pytest.mark.django_db


# --- Source-data verification ---------------------------------------------------------------------


def test_verified_form_is_unverified_by_any_later_change(site_a, staff_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    baseline = patient_services.baseline_record(patient=patient, data=baseline_input(), by=staff_site_a)
    services.form_verify(patient=patient, form="baseline", by=monitor)
    assert _states(patient)["baseline"] == "verified"
    patient_services.baseline_update(
        baseline=baseline, data=baseline_input(weight_kg=61), by=staff_site_a, reason="scale", expected_version=1
    )
    form = next(f for f in selectors.casebook_get(patient).forms if f.key == "baseline")
    assert (form.state, form.verified_stale) == ("complete", True)


def test_only_monitors_verify_and_only_complete_forms(site_a, staff_site_a, monitor):
    patient = consented_patient(site_a, staff_site_a)
    with pytest.raises(PermissionDenied):
        services.form_verify(patient=patient, form="consent", by=staff_site_a)
    with pytest.raises(InvalidTransition, match="not started"):
        services.form_verify(patient=patient, form="baseline", by=monitor)


# --- Electronic signature -----------------------------------------------------------------------


@pytest.fixture
def complete_casebook(site_a, staff_site_a):
    # A screen failure's casebook is complete with its screening form alone.
    return screen(site_a, staff_site_a, eligible=False)


def _sign(patient, by, password=PASSWORD, username=None):
    return services.casebook_sign(
        patient=patient,
        username=username or by.get_username(),
        password=password,
        meaning="approval",
        by=by,
        request=RequestFactory().post("/quality/casebook/"),
    )


def test_investigator_signs_a_complete_casebook_bound_to_its_content(complete_casebook, investigator_site_a):
    signature = _sign(complete_casebook, investigator_site_a)
    book = selectors.casebook_get(complete_casebook)
    assert book.signature == signature and book.signature_valid
    assert signature.content_hash == book.content_hash and signature.manifest == book.manifest
    assert signature.printed_name and signature.meaning == "approval"
    assert _states(complete_casebook) == {"screening": "signed"}


def test_a_change_after_signing_invalidates_the_signature(complete_casebook, investigator_site_a, staff_site_a):
    _sign(complete_casebook, investigator_site_a)
    patient_services.identity_update(
        patient=complete_casebook,
        identity=identity(full_name="Corrected Name"),
        by=staff_site_a,
        reason="spelling",
        expected_version=None,
    )
    assert selectors.casebook_get(complete_casebook).signature_valid, "identity is not part of the signed clinical data"
    patient_services.patient_void(patient=complete_casebook, by=staff_site_a, reason="duplicate registration")
    book = selectors.casebook_get(complete_casebook)
    assert book.signature is not None and not book.signature_valid


@pytest.mark.parametrize("password, username", [("wrong-password", None), (PASSWORD, "someone_else")])
def test_signing_with_wrong_credentials_is_refused(complete_casebook, investigator_site_a, password, username):
    with pytest.raises(SignatureRefused, match="not correct"):
        _sign(complete_casebook, investigator_site_a, password=password, username=username)
    assert not CasebookSignature.objects.exists()


def test_signing_an_incomplete_casebook_is_refused(treated, investigator_site_a):
    with pytest.raises(SignatureRefused, match="cannot be signed yet") as refused:
        _sign(treated, investigator_site_a)
    assert "Luteal support is not started." in str(refused.value)
    assert not CasebookSignature.objects.exists()


def test_open_queries_block_signing(complete_casebook, investigator_site_a, monitor):
    services.query_raise(patient=complete_casebook, form="screening", field="AGE_20_40", message="?", by=monitor)
    with pytest.raises(SignatureRefused, match="1 data query is not closed"):
        _sign(complete_casebook, investigator_site_a)


def test_staff_and_other_site_investigators_cannot_sign(complete_casebook, staff_site_a, site_b):
    from tests.factories import make_user

    with pytest.raises(PermissionDenied):
        _sign(complete_casebook, staff_site_a)
    with pytest.raises(PermissionDenied):
        _sign(complete_casebook, make_user("investigator_b", "investigator", site_b))


def test_signatures_cannot_be_altered(complete_casebook, investigator_site_a):
    _sign(complete_casebook, investigator_site_a)
    with pytest.raises(Exception, match="append_only"), transaction.atomic():
        CasebookSignature.objects.update(printed_name="Someone Else")
