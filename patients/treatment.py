"""Treatment services: embryo transfer, luteal phase support, dalteparin course (with its deviation rule)."""

from dataclasses import dataclass
from datetime import date

from django.utils import timezone
from django.utils.translation import gettext as _

from core.audit import audited
from core.exceptions import InvalidTransition, ValidationFailed
from core.services import record_correct, record_create
from patients import rules
from patients.locks import require_patient_data_entry
from patients.models import (
    CycleType,
    DalteparinCourse,
    EmbryoStage,
    EmbryoTransfer,
    LutealSupport,
    Patient,
    ProtocolDeviation,
    Route,
)


@dataclass(frozen=True)
class TransferInput:
    transfer_date: date
    cycle_type: str
    embryo_stage: str
    embryos_transferred: int


def _randomization_of(patient: Patient):
    randomization = getattr(patient, "randomization", None)
    if randomization is None:
        raise InvalidTransition(
            _("%(patient)s is not randomized: treatment is recorded after randomization.") % {"patient": patient}
        )
    return randomization


def _transfer_values(patient: Patient, data: TransferInput) -> dict:
    randomization = _randomization_of(patient)
    errors = rules.transfer_errors(
        transfer_date=data.transfer_date,
        randomized_on=timezone.localdate(randomization.randomized_at),
        today=timezone.localdate(),
        embryos=data.embryos_transferred,
    )
    if data.cycle_type not in CycleType.values:
        errors["cycle_type"] = [_("Choose fresh or frozen.")]
    if data.embryo_stage not in EmbryoStage.values:
        errors["embryo_stage"] = [_("Choose cleavage or blastocyst.")]
    if errors:
        raise ValidationFailed(errors)
    return dict(data.__dict__)


def transfer_record(*, patient: Patient, data: TransferInput, by) -> EmbryoTransfer:
    """The embryo transfer: its date anchors every time-point window."""
    require_patient_data_entry(by, patient)
    values = _transfer_values(patient, data)
    if patient.transfers.filter(voided_at__isnull=True).exists():
        raise InvalidTransition(
            _("%(patient)s already has an embryo transfer; correct it instead.") % {"patient": patient}
        )
    # The automatic checks run with it: lab windows count from the transfer, sacs are judged against its embryos.
    return record_create(EmbryoTransfer, patient=patient, values=values, by=by)


def transfer_update(*, transfer: EmbryoTransfer, data: TransferInput, by, reason: str, expected_version):
    require_patient_data_entry(by, transfer.patient)
    values = _transfer_values(transfer.patient, data)
    return record_correct(transfer, changes=values, by=by, reason=reason, expected_version=expected_version)


def luteal_support_record(
    *, patient: Patient, drug: str, route: str, daily_dose: str, start_date: date, stop_date: date | None, by
) -> LutealSupport:
    require_patient_data_entry(by, patient)
    _randomization_of(patient)
    errors = rules.course_date_errors(
        start=start_date, stop=stop_date, earliest=patient.screening.screening_date, today=timezone.localdate()
    )
    if not drug.strip():
        errors["drug"] = [_("Name the drug.")]
    if not daily_dose.strip():
        errors["daily_dose"] = [_("Give the daily dose with its unit, e.g. 90 mg.")]
    if route not in Route.values:
        errors["route"] = [_("Choose a route from the list.")]
    if errors:
        raise ValidationFailed(errors)
    with audited(by=by):
        return LutealSupport.objects.create(
            patient=patient,
            drug=drug.strip(),
            route=route,
            daily_dose=daily_dose.strip(),
            start_date=start_date,
            stop_date=stop_date,
            created_by=by,
            updated_by=by,
        )


def dalteparin_course_record(
    *,
    patient: Patient,
    daily_dose_iu: int,
    start_date: date,
    stop_date: date | None,
    missed_doses: int,
    deviation_reason: str = "",
    by,
) -> DalteparinCourse:
    """Dalteparin belongs to the experimental arm; for anyone else it is recorded only with a protocol deviation."""
    require_patient_data_entry(by, patient)
    arm = _randomization_of(patient).arm
    prescribed = rules.receives_dalteparin(arm.is_control)
    errors = rules.dalteparin_errors(
        dose_iu=daily_dose_iu,
        start=start_date,
        stop=stop_date,
        missed_doses=missed_doses,
        earliest=patient.screening.screening_date,
        today=timezone.localdate(),
    )
    if not prescribed and not deviation_reason.strip():
        errors["deviation_reason"] = [
            _("%(patient)s is in arm %(arm)s: dalteparin is a protocol deviation; describe what happened and why.")
            % {"patient": patient, "arm": arm.code}
        ]
    if errors:
        raise ValidationFailed(errors)
    with audited(by=by, reason=deviation_reason.strip()):
        deviation = None
        if not prescribed:
            deviation = ProtocolDeviation.objects.create(
                patient=patient,
                occurred_on=start_date,
                description=f"Dalteparin given to a {arm.code} patient: {deviation_reason.strip()}",
                major=True,
                created_by=by,
                updated_by=by,
            )
        return DalteparinCourse.objects.create(
            patient=patient,
            daily_dose_iu=daily_dose_iu,
            start_date=start_date,
            stop_date=stop_date,
            missed_doses=missed_doses,
            deviation=deviation,
            created_by=by,
            updated_by=by,
        )
