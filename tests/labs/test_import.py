"""The lab CSV import: all or nothing, every bad row listed, idempotent, updates need a reason."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from labs.importing import lab_results_import
from labs.models import LabDraw, LabImport, LabResult
from tests.factories import randomized_patient, with_transfer

pytestmark = pytest.mark.django_db

HEADER = "study_id,timepoint,drawn_at,analyte,value,unit\n"
DRAWN_AT = (timezone.now() - timedelta(minutes=5)).replace(microsecond=0).isoformat()
ANALYTES = [("BHCG", "IU/L"), ("FSH", "IU/L"), ("LH", "IU/L"), ("E2", "pg/mL"), ("CA125", "U/mL"), ("IL6", "pg/mL")]


def _state():
    return (
        LabDraw.objects.count(),
        LabResult.objects.count(),
        LabImport.objects.count(),
        list(LabResult.objects.order_by("pk").values_list("value_as_entered", "version")),
        LabResult.pgh_event_model.objects.count(),
    )


@pytest.fixture
def patients(site_a, staff_site_a, statistician):
    return [with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a) for _ in range(3)]


def _row(study_id, timepoint="BASELINE", analyte="FSH", value="6.1", unit="IU/L"):
    drawn = DRAWN_AT
    return f"{study_id},{timepoint},{drawn},{analyte},{value},{unit}\n"


def _file(patients, timepoints=("BASELINE",)):
    return (
        HEADER
        + "".join(
            _row(p.study_id, tp, code, str(5 + i), unit)
            for p in patients
            for tp in timepoints
            for i, (code, unit) in enumerate(ANALYTES)
        )
    ).encode()


def test_a_good_file_imports_every_row_and_is_recorded(patients, staff_site_a):
    report = lab_results_import(content=_file(patients), filename="labs.csv", by=staff_site_a)
    assert report.imported and not report.problems
    assert (LabDraw.objects.count(), LabResult.objects.count()) == (3, 18)
    log = LabImport.objects.get()
    assert (log.rows_total, log.created, log.updated, log.unchanged) == (18, 18, 0, 0)
    assert log.file_sha256 == report.file_sha256 and log.imported_by == staff_site_a
    e2 = LabResult.objects.get(analyte__code="E2", draw__patient=patients[0])
    assert e2.canonical_value == Decimal("8") * Decimal("3.671")


def test_imported_rows_are_stored_and_audited_as_a_form_entry_would_be(patients, staff_site_a):
    """The import writes by COPY; the rows, their audit events and the automatic queries must be what the
    ORM path writes: first versions by the importing user, each insert event under the import's context."""
    from labs.services import lab_result_add
    from quality.models import DataQuery

    content = _file(patients[:2]) + _row(patients[2].study_id, "BASELINE", "LH", "95", "IU/L").encode()
    report = lab_results_import(content=content, filename="site-a.csv", by=staff_site_a)
    assert report.imported and report.count("create") == 13
    draws = LabDraw.objects.order_by("pk")
    assert [d.patient_id for d in draws] == [p.pk for p in patients]
    assert all(d.window_warning == "" and d.drawn_at.isoformat() == DRAWN_AT for d in draws)
    results = LabResult.objects.select_related("draw", "analyte").order_by("pk")
    assert {(r.version, r.created_by, r.updated_by, r.voided_at) for r in results} == {
        (1, staff_site_a, staff_site_a, None)
    }
    assert {r.created_at for r in results} == {r.updated_at for r in results} and len(
        {r.created_at for r in results}
    ) == 1
    lh = results.get(draw__patient=patients[2])
    assert (lh.value_as_entered, lh.unit_as_entered, lh.canonical_value, lh.flag) == (
        "95",
        "IU/L",
        Decimal("95"),
        "high",
    )
    for model, rows in ((LabDraw, draws), (LabResult, results)):
        events = model.pgh_event_model.objects.filter(pgh_obj_id__in=[r.pk for r in rows], pgh_label="insert")
        assert events.count() == len(rows)
        contexts = {(e.pgh_context.metadata["user"], e.pgh_context.metadata["reason"]) for e in events}
        assert contexts == {(staff_site_a.pk, "Lab import site-a.csv")}
    raised = DataQuery.objects.get(patient=patients[2])
    assert raised.check_code == "lab-range:BASELINE:LH" and raised.messages.get().author_name == "system"
    # The ids came from the tables' own sequences: the ORM's next insert does not collide.
    later = lab_result_add(
        patient=patients[2],
        timepoint="ET14",
        drawn_at=timezone.now() - timedelta(minutes=5),
        analyte="FSH",
        value="6",
        unit="IU/L",
        by=staff_site_a,
    )
    assert later.pk > max(r.pk for r in results)


def test_importing_the_same_file_twice_changes_nothing_the_second_time(patients, staff_site_a):
    content = _file(patients)
    lab_results_import(content=content, filename="labs.csv", by=staff_site_a)
    before = _state()
    again = lab_results_import(content=content, filename="labs.csv", by=staff_site_a)
    assert not again.imported and again.count("unchanged") == 18
    assert _state() == before


def test_three_bad_rows_among_a_thousand_import_nothing_and_are_listed_exactly(site_a, staff_site_a, statistician):
    many = [randomized_patient(site_a, staff_site_a, statistician) for _ in range(56)]
    lines = [
        _row(p.study_id, tp, code, "5", unit)
        for p in many
        for tp in ("BASELINE", "ET14", "ET28")
        for code, unit in ANALYTES
    ]
    lines = lines[:1000]
    bad_lines = {17: ("abc", "IU/L"), 480: ("5", "furlongs"), 999: ("-3", "IU/L")}  # 0-based index into data rows
    for index, (value, unit) in bad_lines.items():
        study, tp, drawn, code, _, _ = lines[index].strip().split(",")
        lines[index] = f"{study},{tp},{drawn},{code},{value},{unit}\n"
    report = lab_results_import(content=(HEADER + "".join(lines)).encode(), filename="big.csv", by=staff_site_a)
    assert not report.imported
    assert report.bad_rows == [index + 2 for index in sorted(bad_lines)]  # line numbers: header is line 1
    assert report.rows_total == 1000
    assert (LabDraw.objects.count(), LabResult.objects.count(), LabImport.objects.count()) == (0, 0, 0)


def test_skip_invalid_imports_the_good_rows_only(patients, staff_site_a):
    content = (HEADER + _row(patients[0].study_id) + _row(patients[1].study_id, value="oops")).encode()
    report = lab_results_import(content=content, filename="x.csv", by=staff_site_a, skip_invalid=True)
    assert report.imported and report.skipped_invalid == 1 and report.bad_rows == [3]
    assert LabResult.objects.count() == 1


def test_dry_run_reports_the_plan_and_writes_nothing(patients, staff_site_a):
    report = lab_results_import(content=_file(patients), filename="labs.csv", by=staff_site_a, dry_run=True)
    assert report.count("create") == 18 and not report.imported
    assert _state()[:3] == (0, 0, 0)


def test_a_changed_value_is_an_update_that_needs_a_reason(patients, staff_site_a):
    lab_results_import(
        content=(HEADER + _row(patients[0].study_id, value="6.1")).encode(), filename="a", by=staff_site_a
    )
    changed = (HEADER + _row(patients[0].study_id, value="7.4")).encode()
    refused = lab_results_import(content=changed, filename="b", by=staff_site_a)
    assert not refused.imported
    assert "is stored as 6.1 IU/L; give a reason to change it to 7.4 IU/L" in refused.problems[0].message
    done = lab_results_import(content=changed, filename="b", by=staff_site_a, reason="Reanalysed sample")
    assert done.imported and done.count("update") == 1
    result = LabResult.objects.get()
    assert (result.value_as_entered, result.version) == ("7.4", 2)
    event = LabResult.pgh_event_model.objects.order_by("pgh_id").last()
    assert event.pgh_context.metadata["reason"] == "Reanalysed sample"


def test_a_corrected_drawn_at_updates_the_draw_once_for_all_its_results(patients, staff_site_a):
    lab_results_import(content=_file(patients[:1]), filename="a", by=staff_site_a)
    earlier = (timezone.now() - timedelta(hours=3)).replace(microsecond=0).isoformat()
    moved = _file(patients[:1]).decode().replace(DRAWN_AT, earlier).encode()
    done = lab_results_import(content=moved, filename="b", by=staff_site_a, reason="Time misread from the tube")
    assert done.imported and done.count("update") == 6
    draw = LabDraw.objects.get()
    assert (draw.drawn_at.isoformat(), draw.version) == (earlier, 2)
    assert LabDraw.pgh_event_model.objects.filter(pgh_obj_id=draw.pk).count() == 2  # insert, one update
    assert set(LabResult.objects.values_list("version", flat=True)) == {1}  # values unchanged


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "The file is empty."),
        (b"study_id,timepoint,when,analyte,value,unit\n", "The header must be exactly"),
        (
            "study_id,timepoint,drawn_at,analyte,value,unit\nSZ-0001,BASELINE,2025-01-01T07:00,FSH,5,µ\n".encode(
                "utf-16"
            ),
            "not UTF-8",
        ),
        (HEADER.encode() + b"SZ-0001,BASELINE\n", "Expected 6 columns, found 2."),
        (HEADER.encode() + b"XX-9999,BASELINE,2025-01-01T07:00,FSH,5,IU/L\n", "Unknown study id 'XX-9999'"),
        (HEADER.encode() + b"SZ-0001,DAY99,2025-01-01T07:00,FSH,5,IU/L\n", "Unknown time point 'DAY99'"),
    ],
)
def test_malformed_files_and_unknown_ids_are_refused_with_a_specific_message(patients, staff_site_a, content, message):
    report = lab_results_import(content=content, filename="bad.csv", by=staff_site_a)
    assert not report.imported and message in " ".join(p.message for p in report.problems)
    assert _state()[:3] == (0, 0, 0)


def test_another_sites_patient_is_unknown_to_the_importer(patients, staff_site_b):
    report = lab_results_import(content=_file(patients[:1]), filename="x", by=staff_site_b)
    assert {p.message for p in report.problems} == {f"Unknown study id '{patients[0].study_id}' at your sites."}


def test_management_command_imports_and_fails_loudly_on_bad_rows(patients, staff_site_a, tmp_path, capsys):
    good = tmp_path / "good.csv"
    good.write_bytes(_file(patients[:1]))
    call_command("import_labs", str(good), "--user", staff_site_a.username, "--dry-run")
    assert LabResult.objects.count() == 0 and "would import" in capsys.readouterr().out
    call_command("import_labs", str(good), "--user", staff_site_a.username)
    assert LabResult.objects.count() == 6
    bad = tmp_path / "bad.csv"
    bad.write_bytes((HEADER + _row(patients[1].study_id, value="NaNx")).encode())
    with pytest.raises(CommandError, match="1 bad row"):
        call_command("import_labs", str(bad), "--user", staff_site_a.username)
    assert "line 2, value" in capsys.readouterr().err


def test_a_draw_in_the_future_is_refused(patients, staff_site_a):
    future = (timezone.now() + timedelta(days=2)).replace(microsecond=0).isoformat()
    content = f"{HEADER}{patients[0].study_id},BASELINE,{future},FSH,5,IU/L\n".encode()
    report = lab_results_import(content=content, filename="f.csv", by=staff_site_a)
    assert not report.imported
    assert [(p.row, p.column, p.message) for p in report.problems] == [
        (2, "drawn_at", "The draw cannot be in the future.")
    ]
