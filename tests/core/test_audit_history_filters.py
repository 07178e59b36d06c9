"""The audit history's filters (form, field, user, dates in the site's zone), its CSV download and the
audit API's `field_label` (issue 20, item 6; SPEC §11.1); bad filters are reported and ignored, another
site's user reads nothing, and the site's time zone is set in the admin."""

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from core.models import Site
from patients import services as patient_services
from tests.core.readable_audit_records import corrected_everywhere, dump_traces, history_table
from tests.factories import baseline_input

pytestmark = pytest.mark.django_db

API_KEYS = {"id", "at", "user", "action", "model", "record", "record_label", "changes", "field_label", "reason"}
API_KEYS |= {"request_id"}
INJECTION = '=HYPERLINK("http://evil.example","Scale")'


@pytest.fixture
def patient(site_a, staff_site_a, statistician, monitor):
    return corrected_everywhere(site_a, staff_site_a, statistician, monitor)


def _url(patient) -> str:
    return reverse("casebook:history", args=[patient.study_id])


def _rows(client, patient, **params):
    response = client.get(_url(patient), params)
    assert response.status_code == 200
    return history_table(response.content.decode()).rows, response.content.decode()


def _csv(client, patient, **params) -> list[dict]:
    response = client.get(_url(patient), {"format": "csv", **params})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="audit-{patient.study_id}.csv"'
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def _today(patient):
    return timezone.now().astimezone(ZoneInfo(patient.site.time_zone)).date()


def test_each_filter_narrows_the_history(client, patient, staff_site_a, monitor):
    client.force_login(staff_site_a)
    everything, _ = _rows(client, patient)
    baseline, _ = _rows(client, patient, record="baseline")
    assert baseline and {r["record"] for r in baseline} == {"baseline"} and len(baseline) < len(everything)
    weight, _ = _rows(client, patient, field="weight_kg")
    assert [(r["record"], r["action"]) for r in weight] == [("baseline", "changed"), ("baseline", "created")]
    by_monitor, _ = _rows(client, patient, user="monitor")
    assert by_monitor and {r["record"] for r in by_monitor} == {"data_query", "query_message"}
    assert all(r.get("audit-user", "monitor") == "monitor" for r in by_monitor)
    today = _today(patient)
    assert len(_rows(client, patient, date_from=today, date_to=today)[0]) == len(everything)
    assert _rows(client, patient, date_from=today + timedelta(days=1))[0] == []
    assert _rows(client, patient, date_to=today - timedelta(days=1))[0] == []
    both, _ = _rows(client, patient, record="baseline", field="bmi", user="staff_a", date_from=today)
    assert [(r["record"], r["field"]) for r in both] == [("baseline", "bmi"), ("baseline", "bmi")]


def test_the_date_range_is_read_in_the_sites_zone(client, patient, staff_site_a):
    """An event is on the site's calendar day: moved to a zone 14 hours away, some day filter changes."""
    client.force_login(staff_site_a)
    results = {}
    for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC−11
        Site.objects.filter(pk=patient.site_id).update(time_zone=zone)
        patient.site.refresh_from_db()
        results[zone] = len(_rows(client, patient, date_from=_today(patient), date_to=_today(patient))[0])
    assert all(count > 0 for count in results.values())
    day = timezone.now().astimezone(ZoneInfo("Pacific/Kiritimati")).date()
    assert _rows(client, patient, date_from=day + timedelta(days=1))[0] == []


@pytest.mark.parametrize(
    "params",
    [
        {"record": "no_such_record"},
        {"field": "<script>alert(1)</script>"},
        {"user": "ghost"},
        {"date_from": "yesterday"},
        {"date_to": "2025-13-45"},
        {"date_from": "99999-01-01"},
        {"record": "x" * 5000},
    ],
)
def test_a_bad_filter_is_reported_and_ignored(client, patient, staff_site_a, params):
    client.force_login(staff_site_a)
    everything, _ = _rows(client, patient)
    rows, html = _rows(client, patient, **params)
    assert len(rows) == len(everything)
    assert 'id="audit-filter-ignored"' in html and "This filter is ignored." in html
    assert "<script>alert(1)</script>" not in html
    assert len(_csv(client, patient, **params)) == len(everything)


def test_dates_in_the_wrong_order_are_ignored_with_a_message(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    today = _today(patient)
    rows, html = _rows(client, patient, date_from=today + timedelta(days=3), date_to=today)
    assert rows and "after the “To” date" in html


def test_the_filters_offer_what_her_trail_holds_with_names(client, patient, staff_site_a, monitor):
    client.force_login(staff_site_a)
    _, html = _rows(client, patient)
    assert f'<option value="monitor">{monitor.get_full_name()} (monitor)</option>' in html
    assert '<option value="baseline">Baseline</option>' in html
    assert '<option value="weight_kg">Weight (kg)</option>' in html
    assert 'type="date" name="date_from"' in html


def test_the_csv_has_the_filtered_rows_with_readable_values(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    everything, _ = _rows(client, patient)
    rows = _csv(client, patient)
    assert len(rows) == len(everything)
    assert list(rows[0]) == [
        "When",
        "When (UTC)",
        "Who",
        "Username",
        "Record",
        "Action",
        "Field",
        "Old value",
        "New value",
        "Reason",
        "Request",
    ]
    [heartbeat] = [r for r in rows if r["Field"] == "Fetal heartbeat" and r["Action"] == "changed"]
    assert (heartbeat["Old value"], heartbeat["New value"], heartbeat["Who"]) == (
        "Yes",
        "No",
        staff_site_a.get_full_name(),
    )
    assert heartbeat["When"].endswith("+08:00") and heartbeat["When (UTC)"].endswith("Z")
    [slot] = [r for r in rows if r["Field"] == "Allocation slot"]
    assert slot["New value"].startswith("No. ")
    assert dump_traces(" ".join(" ".join(r.values()) for r in rows)) == []
    filtered = _csv(client, patient, record="baseline", field="weight_kg")
    assert [(r["Record"], r["Field"]) for r in filtered] == [("Baseline", "Weight (kg)")] * 2


def test_the_csv_defuses_formulas(client, patient, staff_site_a):
    baseline = patient.baselines.get(voided_at__isnull=True)
    patient_services.baseline_update(
        baseline=baseline,
        data=baseline_input(weight_kg=baseline.weight_kg + 1),
        by=staff_site_a,
        reason=INJECTION,
        expected_version=baseline.version,
    )
    client.force_login(staff_site_a)
    text = client.get(_url(patient), {"format": "csv", "record": "baseline"}).content.decode()
    reasons = [r["Reason"] for r in csv.DictReader(io.StringIO(text)) if r["Reason"].lstrip("'").startswith("=")]
    assert reasons and all(reason == "'" + INJECTION for reason in reasons)


def test_a_monitor_downloads_no_identity(client, patient, monitor):
    client.force_login(monitor)
    rows = _csv(client, patient)
    assert rows and "Identity" not in {r["Record"] for r in rows}
    assert not any("Test Patient" in value for r in rows for value in r.values())


def test_another_sites_user_reads_neither_page_csv_nor_api(client, patient, staff_site_b):
    client.force_login(staff_site_b)
    assert client.get(_url(patient)).status_code == 404
    assert client.get(_url(patient), {"format": "csv"}).status_code == 404
    api = APIClient()
    api.force_authenticate(staff_site_b)
    assert api.get("/api/v1/audit/", {"patient": patient.study_id}).status_code == 404
    client.logout()
    assert client.get(_url(patient), {"format": "csv"}).status_code == 302  # to the login page


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_api_entries_keep_their_keys_and_label_every_changed_field(patient, staff_site_a, language):
    api = APIClient()
    api.force_authenticate(staff_site_a)
    response = api.get(
        "/api/v1/audit/", {"patient": patient.study_id, "page_size": 1000}, HTTP_ACCEPT_LANGUAGE=language
    )
    events = response.json()["results"]
    assert len(events) > 20 and all(set(event) == API_KEYS for event in events)
    for event in events:
        assert set(event["field_label"]) == set(event["changes"]), event["record"]
        assert all(label and not label.endswith("_id") for label in event["field_label"].values())
    [randomization] = [e for e in events if e["record"] == "randomization" and e["action"] == "created"]
    assert "slot_id" in randomization["changes"]  # the API keeps its keys and stored values (SPEC §11.1)
    assert randomization["field_label"]["slot_id"] == {"en": "Allocation slot", "zh-hans": "随机号"}[language]


def test_the_admin_sets_a_sites_time_zone(client, admin_user, site_a):
    client.force_login(admin_user)
    url = reverse("admin:core_site_change", args=[site_a.pk])
    assert 'name="time_zone"' in client.get(url).content.decode()
    form = {
        "code": site_a.code,
        "name": site_a.name,
        "reason": "The site moved its clocks",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    refused = client.post(url, {**form, "time_zone": "Mars/Olympus_Mons"})
    assert refused.status_code == 200 and "is not a time zone" in refused.content.decode()
    assert Site.objects.get(pk=site_a.pk).time_zone == "Asia/Shanghai"
    assert client.post(url, {**form, "time_zone": "Asia/Urumqi"}).status_code == 302
    assert Site.objects.get(pk=site_a.pk).time_zone == "Asia/Urumqi"
    assert "Asia/Urumqi" in client.get(reverse("admin:core_site_changelist")).content.decode()
