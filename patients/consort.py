"""The CONSORT boxes as filters on patients: the dashboard counts them (analysis.dashboard_data) and the
patient list shows the patients behind a count (patients.selectors), so both read the same definition."""

from django.db.models import Exists, OuterRef, Q

from patients.models import DalteparinCourse, PatientStatus

AFTER_RANDOMIZATION_LOSS = [PatientStatus.WITHDRAWN, PatientStatus.LOST_TO_FOLLOW_UP]


def annotate_for_consort(patients):
    """Add what the CONSORT boxes filter on beyond the patient row itself."""
    return patients.annotate(
        had_dalteparin=Exists(DalteparinCourse.objects.filter(voided_at__isnull=True, patient_id=OuterRef("pk"))),
    )


def consort_box_filters(arm_codes: list[str]) -> dict[str, Q]:
    """Each CONSORT box as a filter on patients, so counts and the linked patient lists agree.

    Every screened (non-voided) patient falls in exactly one of: ineligible, not consented,
    consented not randomized, randomized. Arm boxes split the randomized ones.
    """
    randomized = Q(randomization__isnull=False)
    boxes = {
        "assessed": Q(),
        "excluded_ineligible": Q(status=PatientStatus.INELIGIBLE, randomization__isnull=True),
        "excluded_not_consented": Q(status=PatientStatus.ELIGIBLE, randomization__isnull=True),
        "excluded_not_randomized": ~Q(status__in=[PatientStatus.INELIGIBLE, PatientStatus.ELIGIBLE])
        & Q(randomization__isnull=True),
        "randomized": randomized,
    }
    # Received what her arm prescribes (patients.rules.receives_dalteparin): dalteparin exactly when the
    # arm is not the control one.
    received = Q(randomization__arm__is_control=False, had_dalteparin=True) | Q(
        randomization__arm__is_control=True, had_dalteparin=False
    )
    for code in arm_codes:
        arm = Q(randomization__arm__code=code)
        boxes[f"allocated_{code}"] = arm
        boxes[f"received_{code}"] = arm & received
        boxes[f"not_received_{code}"] = arm & ~received
        boxes[f"discontinued_{code}"] = arm & Q(status__in=AFTER_RANDOMIZATION_LOSS)
        boxes[f"analysed_itt_{code}"] = arm & Q(randomization__voided_at__isnull=True)
    return boxes
