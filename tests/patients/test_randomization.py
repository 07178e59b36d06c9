"""Randomization: strict sequence under concurrency, preconditions, concealment, audit, in-error flag."""

import threading
from datetime import date

import pytest
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from casebook.selectors import patient_audit_history
from core.exceptions import InvalidTransition, ValidationFailed
from core.models import Trial
from outcomes.selectors import derived_outcomes
from patients import allocation, randomization, services
from patients.models import AllocationSlot, Patient, Randomization
from patients.randomization import AllocationUnavailable, patient_randomize
from tests.factories import consented_patient, live_list, randomizable_patient, screen, seed_for_tests

# The arms in the order the trial configuration lists them (core.Arm.order), as the services pass them.
ARMS = ("CTRL", "EXP")

pytestmark = pytest.mark.django_db


def _state(patient):
    patient.refresh_from_db()
    return patient.status, Randomization.objects.filter(patient=patient).count()


def test_randomization_takes_the_first_slot_and_changes_status(site_a, staff_site_a, statistician):
    allocation_list = live_list(site_a, statistician)
    patient = randomizable_patient(site_a, staff_site_a)
    done = patient_randomize(patient=patient, by=staff_site_a)
    first = allocation_list.slots.get(sequence=1)
    assert (done.slot, done.arm) == (first, first.arm)
    assert _state(patient) == ("randomized", 1)


def test_generated_live_list_hash_matches_the_pure_sequence(site_a, statistician):
    allocation_list = live_list(site_a, statistician, seed=777, length=40)
    expected = allocation.permuted_blocks(seed=seed_for_tests(777), length=40, arms=ARMS)
    assert allocation_list.sha256 == allocation.sequence_sha256(expected)
    assert allocation_list.slots.count() == len(expected)


def test_second_randomization_of_a_patient_is_refused(site_a, staff_site_a, statistician):
    live_list(site_a, statistician)
    patient = randomizable_patient(site_a, staff_site_a)
    patient_randomize(patient=patient, by=staff_site_a)
    with pytest.raises(InvalidTransition, match="already randomized"):
        patient_randomize(patient=Patient.objects.get(pk=patient.pk), by=staff_site_a)
    assert Randomization.objects.count() == 1


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda site, user: screen(site, user, eligible=False), "not eligible: BLEEDING_DISORDER"),
        (lambda site, user: screen(site, user), "has not consented yet"),
        (lambda site, user: consented_patient(site, user), "has no baseline"),
    ],
    ids=["ineligible", "not-consented", "no-baseline"],
)
def test_each_precondition_failure_is_named_and_changes_nothing(site_a, staff_site_a, statistician, make, message):
    live_list(site_a, statistician)
    patient = make(site_a, staff_site_a)
    before = _state(patient)
    with pytest.raises(InvalidTransition, match=message):
        patient_randomize(patient=patient, by=staff_site_a)
    assert _state(patient) == before


def test_withdrawn_patient_cannot_be_randomized(site_a, staff_site_a, statistician):
    live_list(site_a, statistician)
    patient = randomizable_patient(site_a, staff_site_a)
    services.patient_withdraw(patient=patient, withdrawn_on=date(2025, 3, 3), reason="Declined", by=staff_site_a)
    with pytest.raises(InvalidTransition, match="while withdrawn"):
        patient_randomize(patient=Patient.objects.get(pk=patient.pk), by=staff_site_a)


def test_trial_not_recruiting_refuses_randomization(site_a, staff_site_a, statistician):
    live_list(site_a, statistician)
    patient = randomizable_patient(site_a, staff_site_a)
    Trial.objects.update(status="closed")
    with pytest.raises(InvalidTransition, match="not recruiting"):
        patient_randomize(patient=patient, by=staff_site_a)
    assert _state(patient) == ("consented", 0)


def test_missing_list_and_exhausted_list_give_staff_a_clear_message_and_alert_the_statistician(
    client, site_a, staff_site_a, statistician
):
    patient = randomizable_patient(site_a, staff_site_a)
    with pytest.raises(AllocationUnavailable, match="No live allocation list for stratum SZ <35"):
        patient_randomize(patient=patient, by=staff_site_a)
    allocation_list = live_list(site_a, statistician, length=2)
    for _ in range(allocation_list.slots.count()):
        patient_randomize(patient=randomizable_patient(site_a, staff_site_a), by=staff_site_a)
    with pytest.raises(AllocationUnavailable, match="used up"):
        patient_randomize(patient=patient, by=staff_site_a)
    assert _state(patient) == ("consented", 0)
    client.force_login(statistician)
    page = client.get(reverse("allocation:overview")).content.decode()
    assert f'data-alert="{allocation_list.pk}"' in page and "list used up" in page


def test_patients_of_each_age_group_draw_from_their_own_stratum(site_a, staff_site_a, statistician):
    young = live_list(site_a, statistician, age_group="<35", seed=1)
    older = live_list(site_a, statistician, age_group=">=35", seed=2)
    patient = randomizable_patient(site_a, staff_site_a, date_of_birth=date(1985, 1, 1))  # 40 at screening
    assert patient.age_at_enrolment == 40
    assert patient_randomize(patient=patient, by=staff_site_a).slot.allocation_list == older
    assert not young.slots.filter(randomization__isnull=False).exists()


def test_live_list_slots_cannot_be_edited_even_in_sql(site_a, statistician):
    allocation_list = live_list(site_a, statistician, length=4)
    with pytest.raises(IntegrityError, match="live allocation list"), transaction.atomic():
        AllocationSlot.objects.filter(allocation_list=allocation_list, sequence=1).update(block_size=9)
    with pytest.raises(IntegrityError, match="live allocation list"), transaction.atomic():
        AllocationSlot.objects.filter(allocation_list=allocation_list).delete()
    with pytest.raises(InvalidTransition, match="can be extended, not replaced"):
        randomization.allocation_list_generate(
            site=site_a, age_group="<35", length=10, block_sizes=[2], by=statistician
        )


def test_generated_live_list_is_extended_by_its_own_seed_without_changing_a_slot(site_a, statistician):
    allocation_list = live_list(site_a, statistician, seed=31, length=20)
    before = list(allocation_list.slots.values_list("sequence", "arm__code"))
    old_hash = allocation_list.sha256
    added = randomization.allocation_list_extend(allocation_list=allocation_list, by=statistician, length=60)
    after = list(allocation_list.slots.order_by("sequence").values_list("sequence", "arm__code"))
    assert after[: len(before)] == before and len(after) == len(before) + added == 60
    allocation_list.refresh_from_db()
    assert allocation_list.sha256 != old_hash
    regenerated = allocation.permuted_blocks(seed=seed_for_tests(31), length=60, arms=ARMS)
    assert allocation_list.sha256 == allocation.sequence_sha256(regenerated)


def test_imported_list_is_validated_and_extended_by_a_continuing_file(site_a, statistician):
    with pytest.raises(ValidationFailed, match="Unknown arm 'X'"):
        randomization.allocation_list_import(
            site=site_a, age_group="<35", content=b"sequence,arm\n1,X\n", filename="bad.csv", by=statistician
        )
    draft = randomization.allocation_list_import(
        site=site_a, age_group="<35", content=b"sequence,arm\n1,EXP\n2,CTRL\n", filename="l.csv", by=statistician
    )
    live = randomization.allocation_list_go_live(allocation_list=draft, by=statistician)
    with pytest.raises(ValidationFailed, match="from 3"):
        randomization.allocation_list_extend(allocation_list=live, by=statistician, content=b"sequence,arm\n1,EXP\n")
    added = randomization.allocation_list_extend(
        allocation_list=live, by=statistician, content=b"sequence,arm\n3,EXP\n4,CTRL\n"
    )
    assert added == 2 and live.slots.count() == 4


def test_only_the_statistician_manages_lists(site_a, staff_site_a, monitor):
    for user in (staff_site_a, monitor):
        with pytest.raises(PermissionDenied):
            randomization.allocation_list_generate(site=site_a, age_group="<35", length=10, block_sizes=[2], by=user)


def test_randomization_is_in_the_audit_trail_with_user_time_and_slot(site_a, staff_site_a, statistician):
    live_list(site_a, statistician)
    patient = randomizable_patient(site_a, staff_site_a)
    done = patient_randomize(patient=patient, by=staff_site_a)
    history = patient_audit_history(user=staff_site_a, patient=patient)
    [entry] = [e for e in history if e.record == "randomization"]
    assert entry.username == staff_site_a.username and entry.reason == "Randomized" and entry.at
    assert {c.field: c.new for c in entry.changes}["slot_id"] == done.slot_id
    status_change = [e for e in history if e.record == "patient" and e.reason == "Randomized"]
    assert [(c.old, c.new) for c in status_change[0].changes] == [("consented", "randomized")]


def test_randomized_in_error_stays_in_itt_and_leaves_per_protocol(site_a, staff_site_a, statistician):
    live_list(site_a, statistician)
    kept, wrong = (randomizable_patient(site_a, staff_site_a) for _ in range(2))
    patient_randomize(patient=kept, by=staff_site_a)
    done = patient_randomize(patient=wrong, by=staff_site_a)
    with pytest.raises(PermissionDenied):
        randomization.randomization_flag_error(randomization=done, reason="Had a uterine anomaly", by=staff_site_a)
    randomization.randomization_flag_error(randomization=done, reason="Had a uterine anomaly", by=statistician)
    rows = {row.study_id: row for row in derived_outcomes()}
    assert set(rows) == {kept.study_id, wrong.study_id}  # both stay in ITT
    assert rows[wrong.study_id].arm == done.arm.code and rows[wrong.study_id].in_error
    assert not rows[wrong.study_id].per_protocol
    kept_arm = rows[kept.study_id].arm
    # Without a dalteparin course only a CTRL patient received her allocated treatment.
    assert rows[kept.study_id].per_protocol == (kept_arm == "CTRL")


@pytest.mark.django_db(transaction=True)
def test_thirty_concurrent_randomizations_use_exactly_the_first_thirty_slots(site_a, staff_site_a, statistician):
    allocation_list = live_list(site_a, statistician, length=60)
    patients = [randomizable_patient(site_a, staff_site_a) for _ in range(30)]
    start = threading.Barrier(len(patients) + 2)
    errors: list[BaseException] = []

    def randomize(patient):
        try:
            start.wait()
            patient_randomize(patient=patient, by=staff_site_a)
        except InvalidTransition:
            pass  # the deliberate double randomization below
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=randomize, args=(p,)) for p in patients]
    # Two extra threads try to randomize patients already being randomized: refused, no slot used.
    threads += [
        threading.Thread(target=randomize, args=(patients[0],)),
        threading.Thread(target=randomize, args=(patients[1],)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    used = sorted(Randomization.objects.values_list("slot__sequence", flat=True))
    assert used == list(range(1, 31))
    assert Randomization.objects.values("patient").distinct().count() == 30
    assert Patient.objects.filter(status="randomized").count() == 30
    assert allocation_list.slots.filter(randomization__isnull=True).count() == allocation_list.slots.count() - 30
