"""The patient's audit history reads as people say it (issue 20, item 6; found item 7: `timepoint_id 1`,
`slot_id 63`, `True`, dicts, mixed time formats beside a UTC column): field labels, related records by
their names, Yes/No, choices by their labels, one date-time format in the site's time zone with its
offset; names read in bulk, so the page's query count does not grow with her entries."""

import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from casebook.selectors import patient_audit_history
from core.audit_trail import patient_trail_sources
from core.models import Site
from patients.models import Randomization
from tests.core.readable_audit_records import correct_weight, corrected_everywhere, dump_traces, history_table

pytestmark = pytest.mark.django_db

WHEN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} [+-]\d{2}:\d{2}")


@pytest.fixture
def patient(site_a, staff_site_a, statistician, monitor):
    return corrected_everywhere(site_a, staff_site_a, statistician, monitor)


def _page(client, patient, language="en", **params):
    client.cookies["django_language"] = language
    response = client.get(reverse("casebook:history", args=[patient.study_id]), params)
    assert response.status_code == 200
    return history_table(response.content.decode())


def _row(table, record, field, action="changed") -> dict:
    [row] = [r for r in table.rows if (r["record"], r["field"], r["action"]) == (record, field, action)]
    return row


def test_the_page_shows_no_column_name_and_no_python_literal(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    for language in ("en", "zh-hans"):
        table = _page(client, patient, language)
        assert len(table.rows) > 60
        assert dump_traces(" ".join(table.text)) == [], language
    foreign_keys = {
        f"{f.name}_id" for s in patient_trail_sources() for f in s.event_model.pgh_tracked_model._meta.fields
    }
    html = client.get(reverse("casebook:history", args=[patient.study_id])).content.decode()
    # Not even in the rows' attributes or the filters' values (study_id is a text field, not a key).
    assert not {column for column in foreign_keys - {"study_id"} if re.search(rf"\b{column}\b", html)}


def test_related_records_read_by_their_names(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    table = _page(client, patient)
    randomization = Randomization.objects.select_related("slot", "arm").get(patient=patient)
    assert _row(table, "randomization", "slot", "created")["audit-new"] == f"No. {randomization.slot.sequence}"
    arm = randomization.arm
    assert _row(table, "randomization", "arm", "created")["audit-new"] == f"{arm.code} — {arm.label}"
    assert _row(table, "randomization", "randomized_by", "created")["audit-new"] == staff_site_a.get_full_name()
    assert _row(table, "lab_draw", "timepoint", "created")["audit-new"] == "Baseline (ET day, before the first dose)"
    assert _row(table, "lab_result", "analyte", "created")["audit-new"] == "E2"
    assert _row(table, "lab_result", "draw", "created")["audit-new"] == "Baseline (ET day, before the first dose)"
    assert _row(table, "questionnaire_response", "instrument", "created")["audit-new"] == "RAND36"
    assert _row(table, "patient", "site", "created")["audit-new"] == "SZ"
    assert _row(table, "consent", "obtained_by", "created")["audit-field-label"] == "Obtained by"


def test_values_read_as_people_say_them(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    table = _page(client, patient)
    heartbeat = _row(table, "pregnancy_outcome", "fetal_heartbeat")
    assert (heartbeat["audit-field-label"], heartbeat["audit-old"], heartbeat["audit-new"]) == (
        "Fetal heartbeat",
        "Yes",
        "No",
    )
    assert (_row(table, "baseline", "weight_kg")["audit-old"], _row(table, "baseline", "weight_kg")["audit-new"]) == (
        "56.0",
        "58.5",
    )
    stage = _row(table, "embryo_transfer", "embryo_stage")
    assert (stage["audit-field-label"], stage["audit-old"], stage["audit-new"]) == (
        "Embryo stage",
        "Blastocyst",
        "Cleavage",
    )
    answers = _row(table, "questionnaire_response", "answers")
    assert (answers["audit-old"], answers["audit-new"]) == ("3: 3", "3: 1")  # the corrected item only
    assert answers["audit-field-label"] == "Item answers"  # not the screening's "Answers" (eligibility)
    scores = _row(table, "questionnaire_response", "scores")
    assert scores["audit-old"].startswith("Physical functioning: ")
    screening = _row(table, "screening", "answers", "created")["audit-new"]
    assert "Age 20–40 years: Yes" in screening and "AGE_20_40" not in screening
    assert _row(table, "randomization", "in_error", "created")["audit-new"] == "No"
    assert _row(table, "consent", "form_version")["audit-new"] == "v3.0"


def test_chinese_readers_get_chinese_labels_and_yes_no(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    table = _page(client, patient, "zh-hans")
    heartbeat = _row(table, "pregnancy_outcome", "fetal_heartbeat")
    assert (heartbeat["audit-old"], heartbeat["audit-new"]) == ("是", "否")
    assert _row(table, "embryo_transfer", "transfer_date")["audit-new"][:2] == "20"  # dates stay ISO
    assert dump_traces(" ".join(table.text)) == []


def test_times_are_in_the_sites_zone_with_their_offset_and_follow_its_setting(client, patient, staff_site_a):
    client.force_login(staff_site_a)
    entry = patient_audit_history(user=staff_site_a, patient=patient)[0]

    def shown(zone: str) -> str:
        local = entry.at.astimezone(ZoneInfo(zone))
        offset = local.strftime("%z")
        return f"{local:%Y-%m-%d %H:%M} {offset[:3]}:{offset[3:]}"

    table = _page(client, patient)
    whens = [row["audit-when"] for row in table.rows if "audit-when" in row]
    assert whens and all(WHEN.fullmatch(when) for when in whens)
    assert whens[0] == shown("Asia/Shanghai") and whens[0].endswith("+08:00")
    assert "UTC" not in " ".join(table.text)  # no separate UTC column
    drawn = _row(table, "lab_draw", "drawn_at", "created")["audit-new"]
    assert WHEN.fullmatch(drawn) and drawn.endswith("+08:00")  # values too, in the same format

    Site.objects.filter(pk=patient.site_id).update(time_zone="America/New_York")
    moved = _page(client, patient)
    new_whens = [row["audit-when"] for row in moved.rows if "audit-when" in row]
    assert new_whens[0] == shown("America/New_York") and new_whens[0][-6:] in ("-05:00", "-04:00")
    assert new_whens[0] != whens[0]


def test_a_monitor_reads_names_but_never_her_identity(client, patient, monitor):
    client.force_login(monitor)
    table = _page(client, patient)
    assert "patient_identity" not in {row["record"] for row in table.rows}
    assert "Test Patient" not in " ".join(table.text)
    assert _row(table, "randomization", "slot", "created")["audit-new"].startswith("No. ")


def test_the_page_costs_the_same_queries_for_few_and_many_entries(
    client, patient, staff_site_a, django_assert_max_num_queries
):
    client.force_login(staff_site_a)
    url = reverse("casebook:history", args=[patient.study_id])
    client.get(url)  # first-visit writes of the session
    # Session and user, permissions, the trial for the header; the patient, her site memberships; one query
    # per record type of her trail; then one per kind of name shown (users, site, slot, arm, time point,
    # lab draw, analyte, instrument, data query, screening criteria).
    bound = 6 + len(patient_trail_sources()) + 10

    def cost() -> int:
        with django_assert_max_num_queries(bound) as captured:
            assert client.get(url).status_code == 200
        return len(captured.captured_queries)

    few = cost()
    correct_weight(patient, staff_site_a, times=12)
    assert cost() == few
    csv_url = f"{url}?format=csv"
    with django_assert_max_num_queries(bound):
        assert client.get(csv_url).status_code == 200
