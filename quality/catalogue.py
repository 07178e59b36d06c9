"""Which forms a patient's casebook should hold, and the state of each. Pure: no Django but its
translation functions (form labels are shown in the user's language; states stay English codes that
templates translate where they show them).

The expected forms follow from where the patient is in the trial: nothing after screening for an
ineligible woman, the follow-up forms only once she is randomized, and nothing new after withdrawal.
Time-point forms fall due at the end of their window after the embryo transfer.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

from django.utils.translation import gettext as _

from core.markers import gettext_noop
from patients.rules import receives_dalteparin

NOT_APPLICABLE = gettext_noop("not applicable")
NOT_STARTED = gettext_noop("not started")
IN_PROGRESS = gettext_noop("in progress")
COMPLETE = gettext_noop("complete")
VERIFIED = gettext_noop("verified")
SIGNED = gettext_noop("signed")
LOCKED = gettext_noop("locked")
STATES = (NOT_STARTED, IN_PROGRESS, COMPLETE, VERIFIED, SIGNED, LOCKED)
NOT_DONE = (NOT_STARTED, IN_PROGRESS)  # missing: nothing entered, or not every required value

RANDOMIZABLE = ("consented", "randomized", "completed")
# The clinical-pregnancy ultrasound is done about five weeks after the transfer.
OUTCOME_DUE_DAYS_AFTER_TRANSFER = 35


@dataclass(frozen=True)
class TimepointWindow:
    code: str
    label: str
    day_offset: int
    window_after: int


@dataclass
class FormRecords:
    """What is stored for one form: (model, pk, version) of each record, and whether it is complete."""

    # (model, pk, version) of each record, voided ones too (voiding is a change); a registration is
    # (model, pk, its clinical state) instead of a version.
    records: list[tuple[str, int, int | str]] = field(default_factory=list)
    active: int = 0
    complete: bool = True

    @property
    def started(self) -> bool:
        return self.active > 0


@dataclass(frozen=True)
class PatientFacts:
    status: str  # patients.PatientStatus value
    arm_is_control: bool | None  # once randomized: is her arm the control arm (core.Arm.is_control)
    transfer_date: date | None
    forms: dict[str, FormRecords]  # form key → stored records (absent: nothing stored)


@dataclass(frozen=True)
class ExpectedForm:
    key: str
    label: str
    due: date | None = None


def content_hash(records: list[tuple[str, int, int | str]]) -> str:
    """Every change bumps a record's version and every new record adds a row, so this changes with any edit."""
    canonical = json.dumps(sorted(records), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def casebook_hash(manifest: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _after(transfer_date: date | None, days: int) -> date | None:
    return transfer_date + timedelta(days=days) if transfer_date else None


def expected_forms(
    facts: PatientFacts, *, lab_timepoints: list[TimepointWindow], questionnaires: list[tuple[str, TimepointWindow]]
) -> list[ExpectedForm]:
    """The forms this patient's casebook should hold now, in casebook order."""
    status, stored = facts.status, facts.forms
    if status == "voided":
        return []
    forms = [ExpectedForm("screening", _("Screening"))]
    if status == "ineligible":
        return forms
    withdrawn = status in ("withdrawn", "lost_to_follow_up")
    follow_up = [
        ExpectedForm("consent", _("Consent")),
        ExpectedForm("baseline", _("Baseline")),
        ExpectedForm("randomization", _("Randomization")),
    ]
    randomized = "randomization" in stored and stored["randomization"].started
    if randomized:
        transfer = facts.transfer_date
        follow_up += [
            ExpectedForm("transfer", _("Embryo transfer")),
            ExpectedForm("luteal_support", _("Luteal support"), transfer),
        ]
        if facts.arm_is_control is not None and receives_dalteparin(facts.arm_is_control):
            follow_up.append(ExpectedForm("dalteparin", _("Dalteparin"), transfer))
        follow_up += [
            ExpectedForm(
                f"labs:{tp.code}",
                _("Labs %(timepoint)s") % {"timepoint": _(tp.label)},
                _after(transfer, tp.day_offset + tp.window_after),
            )
            for tp in lab_timepoints
        ]
        follow_up.append(
            ExpectedForm("outcome", _("Pregnancy outcome"), _after(transfer, OUTCOME_DUE_DAYS_AFTER_TRANSFER))
        )
        follow_up += [
            ExpectedForm(
                f"questionnaire:{instrument}:{tp.code}",
                f"{instrument} {_(tp.label)}",
                _after(transfer, tp.day_offset + tp.window_after),
            )
            for instrument, tp in questionnaires
        ]

    def has(key: str) -> bool:
        return key in stored and stored[key].started

    for form in follow_up:
        previous_step_done = form.key != "baseline" or has("consent")
        previous_step_done = previous_step_done and (form.key != "randomization" or has("baseline"))
        if has(form.key):
            forms.append(form)
        elif (
            withdrawn
            or not previous_step_done
            or (form.key == "randomization" and status not in ("consented", "randomized", "completed"))
        ):
            continue
        else:
            forms.append(form)
    return forms


@dataclass(frozen=True)
class FormStatus:
    key: str
    label: str
    state: str
    content_hash: str
    due: date | None
    overdue: bool
    verified_stale: bool  # verified once, changed since


def form_status(
    form: ExpectedForm,
    stored: FormRecords | None,
    *,
    verified_hash: str | None,
    signed: bool,
    locked: bool,
    today: date,
) -> FormStatus:
    """not started → in progress → complete → verified → signed → locked (the highest that holds)."""
    digest = content_hash(stored.records) if stored and stored.records else ""
    if stored is None or not stored.started:
        state = NOT_STARTED
    elif not stored.complete:
        state = IN_PROGRESS
    else:
        state = COMPLETE
    verified = state == COMPLETE and verified_hash == digest
    if verified:
        state = VERIFIED
    if state in (COMPLETE, VERIFIED) and signed:
        state = SIGNED
    if locked and state != NOT_STARTED:
        state = LOCKED
    overdue = state == NOT_STARTED and form.due is not None and form.due < today
    return FormStatus(
        key=form.key,
        label=form.label,
        state=state,
        content_hash=digest,
        due=form.due,
        overdue=overdue,
        verified_stale=verified_hash is not None and verified_hash != digest,
    )
