"""Lab and treatment pages: form input reaches the services, bad input saves nothing, access is scoped."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from labs.models import LabDraw, LabImport, LabResult
from patients.models import DalteparinCourse, EmbryoTransfer, ProtocolDeviation
from tests.factories import randomized_patient, with_transfer

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(site_a, staff_site_a, statistician):
    return with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a)


@pytest.fixture
def staff_client(client, staff_site_a):
    client.force_login(staff_site_a)
    return client


def _draw_post(**overrides):
    drawn = timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    data = {"timepoint": "BASELINE", "drawn_at": drawn}
    for code, unit in [
        ("BHCG", "IU/L"),
        ("FSH", "IU/L"),
        ("LH", "IU/L"),
        ("E2", "pmol/L"),
        ("CA125", "U/mL"),
        ("IL6", "pg/mL"),
    ]:
        data[f"{code}_value"] = ""
        data[f"{code}_unit"] = unit
    data.update(overrides)
    return data


def test_draw_form_saves_and_the_patient_page_shows_the_flag(staff_client, patient):
    response = staff_client.post(
        reverse("labs:draw_create", args=[patient.study_id]),
        _draw_post(LH_value="120", E2_value="50", E2_unit="pg/mL"),
        follow=True,
    )
    body = response.content.decode()
    assert "Outside the reference range: LH high." in body
    # Shown to the analytes' display decimals (LH 2, E2 1: 50 pg/mL is 183.55 pmol/L, stored as such).
    assert '<tr data-analyte="LH">' in body and 'data-flag="high" data-value="120.00">120.00<' in body
    assert ">183.6<" in body and "entered 50 pg/mL" in body


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"FSH_value": "abc"}, "FSH_value", "'abc' is not a number"),
        ({"FSH_value": "-1"}, "FSH_value", "negative"),
        ({"FSH_value": "5000"}, "FSH_value", "above the physiological maximum"),
        ({"FSH_value": "5", "FSH_unit": "mg/dL"}, "FSH_unit", "Select a valid choice"),
        ({"drawn_at": "yesterday"}, "drawn_at", "Enter a valid date/time."),
        ({"timepoint": "ET99", "FSH_value": "5"}, "timepoint", "Select a valid choice"),
        ({}, None, "Enter at least one result."),
    ],
)
def test_draw_form_refuses_bad_input_and_saves_nothing(staff_client, patient, overrides, field, message):
    response = staff_client.post(reverse("labs:draw_create", args=[patient.study_id]), _draw_post(**overrides))
    assert response.status_code == 200
    form = response.context["form"]
    errors = form.errors.get(field, []) if field else form.non_field_errors()
    assert any(message in e for e in errors), form.errors
    assert not LabDraw.objects.exists() and not LabResult.objects.exists()


def test_transfer_and_dalteparin_forms(staff_client, site_a, staff_site_a, statistician):
    patients = [randomized_patient(site_a, staff_site_a, statistician) for _ in range(4)]
    ctrl = next(p for p in patients if p.randomization.arm.code == "CTRL")
    today = timezone.localdate().isoformat()
    bad = staff_client.post(
        reverse("patients:transfer", args=[ctrl.study_id]),
        {"transfer_date": today, "cycle_type": "fresh", "embryo_stage": "blastocyst", "embryos_transferred": "5"},
    )
    assert "Between 1 and 3 embryos are transferred, not 5." in bad.content.decode()
    assert not EmbryoTransfer.objects.exists()
    staff_client.post(
        reverse("patients:transfer", args=[ctrl.study_id]),
        {"transfer_date": today, "cycle_type": "fresh", "embryo_stage": "blastocyst", "embryos_transferred": "2"},
    )
    assert EmbryoTransfer.objects.get().embryos_transferred == 2
    course = {"daily_dose_iu": "5000", "start_date": today, "missed_doses": "0"}
    refused = staff_client.post(reverse("patients:dalteparin", args=[ctrl.study_id]), course)
    assert "dalteparin is a protocol deviation" in refused.content.decode()
    assert not DalteparinCourse.objects.exists()
    staff_client.post(
        reverse("patients:dalteparin", args=[ctrl.study_id]), {**course, "deviation_reason": "Wrong kit dispensed"}
    )
    assert ProtocolDeviation.objects.get().major
    page = staff_client.get(reverse("casebook:patient", args=[ctrl.study_id])).content.decode()
    assert "Protocol deviation (major)" in page and "Wrong kit dispensed" in page


def test_import_page_previews_then_imports_and_a_repeat_changes_nothing(staff_client, patient):
    drawn = (timezone.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()
    content = f"study_id,timepoint,drawn_at,analyte,value,unit\n{patient.study_id},BASELINE,{drawn},FSH,6,IU/L\n"
    upload = {"file": _file(content), "reason": "", "skip_invalid": ""}
    preview = staff_client.post(reverse("labs:import"), upload)
    assert preview.context["counts"]["create"] == 1 and preview.context["can_import"]
    assert not LabResult.objects.exists()
    sha = preview.context["report"].file_sha256
    staff_client.post(reverse("labs:import_confirm"), {"sha256": sha, "filename": "f.csv", "skip_invalid": "0"})
    assert LabResult.objects.count() == 1 and LabImport.objects.count() == 1
    again = staff_client.post(reverse("labs:import"), {"file": _file(content)})
    assert again.context["counts"]["unchanged"] == 1 and not again.context["can_import"]
    assert "Nothing to import" in again.content.decode()


def test_import_confirmation_cannot_use_another_users_checked_file(client, staff_site_a, staff_site_b, patient):
    drawn = (timezone.now() - timedelta(hours=1)).replace(microsecond=0).isoformat()
    content = f"study_id,timepoint,drawn_at,analyte,value,unit\n{patient.study_id},BASELINE,{drawn},FSH,6,IU/L\n"
    client.force_login(staff_site_a)
    sha = client.post(reverse("labs:import"), {"file": _file(content)}).context["report"].file_sha256
    client.force_login(staff_site_b)
    for attempt in (sha, "../../etc/passwd"):
        response = client.post(reverse("labs:import_confirm"), {"sha256": attempt}, follow=True)
        assert "no longer available" in response.content.decode()
    assert not LabResult.objects.exists()


def _file(content: str):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("f.csv", content.encode(), content_type="text/csv")


@pytest.mark.parametrize("name", ["draw_create", "transfer", "luteal_support", "dalteparin"])
def test_other_sites_get_404_and_read_only_roles_403(client, patient, staff_site_b, monitor, name):
    url = reverse(f"labs:{name}" if name == "draw_create" else f"patients:{name}", args=[patient.study_id])
    client.force_login(staff_site_b)
    assert client.get(url).status_code == 404
    client.force_login(monitor)
    assert client.get(url).status_code == 403


def test_read_only_roles_cannot_import(client, monitor, statistician):
    for user in (monitor, statistician):
        client.force_login(user)
        assert client.get(reverse("labs:import")).status_code == 403
