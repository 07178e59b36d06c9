"""Clinical rules of the registry as pure functions: eligibility, derived age and BMI, plausible ranges.

No Django here but its translation function (messages are shown to users in their language): plain values
in, plain values out, so the rules are tested without a database.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

EARLIEST_PLAUSIBLE_DATE = date(2000, 1, 1)

# Inclusive plausible ranges for baseline entries; outside them the value is a typing error.
# The unit words are lazy: translated when a message is made, in the language of that request.
BASELINE_LIMITS: dict[str, tuple[Decimal, Decimal, str]] = {
    "height_cm": (Decimal("120"), Decimal("220"), "cm"),
    "weight_kg": (Decimal("30"), Decimal("200"), "kg"),
    "previous_failed_transfers": (Decimal("0"), Decimal("30"), gettext_lazy("transfers")),
    "prior_miscarriages": (Decimal("0"), Decimal("20"), gettext_lazy("miscarriages")),
    "infertility_years": (Decimal("0"), Decimal("30"), gettext_lazy("years")),
    "amh_ng_ml": (Decimal("0"), Decimal("30"), "ng/mL"),
}
BMI_LIMITS = (Decimal("12"), Decimal("60"))


@dataclass(frozen=True)
class CriterionSpec:
    code: str
    kind: str  # "inclusion" | "exclusion"
    min_age: int | None = None
    max_age: int | None = None
    text: str = ""  # what staff read on the form, in their language; messages name the criterion by it

    @property
    def name(self) -> str:
        return self.text or self.code


@dataclass(frozen=True)
class EligibilityResult:
    eligible: bool
    failed: tuple[str, ...]


def age_on(date_of_birth: date, on: date) -> int:
    """Completed years of age on a date."""
    had_birthday = (on.month, on.day) >= (date_of_birth.month, date_of_birth.day)
    return on.year - date_of_birth.year - (0 if had_birthday else 1)


def body_mass_index(height_cm: Decimal, weight_kg: Decimal) -> Decimal:
    """BMI in kg/m², rounded half-up to 2 decimals."""
    metres = Decimal(height_cm) / 100
    return (Decimal(weight_kg) / (metres * metres)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def evaluate_eligibility(criteria: list[CriterionSpec], answers: Mapping[str, bool]) -> EligibilityResult:
    """Eligible when every inclusion is met and no exclusion is present; failed codes in checklist order."""
    failed = tuple(
        c.code
        for c in criteria
        if (c.kind == "inclusion" and not answers[c.code]) or (c.kind == "exclusion" and answers[c.code])
    )
    return EligibilityResult(eligible=not failed, failed=failed)


def screening_errors(
    criteria: list[CriterionSpec],
    answers: Mapping[str, object],
    *,
    date_of_birth: date,
    screening_date: date,
    today: date,
) -> dict[str, list[str]]:
    """Every problem with a screening, keyed by field; empty when it may be saved."""
    errors: dict[str, list[str]] = {}
    known = {c.code for c in criteria}
    for code in sorted(set(answers) - known):
        errors.setdefault("criteria", []).append(_("Unknown criterion %(code)s.") % {"code": code})
    for c in criteria:
        if not isinstance(answers.get(c.code), bool):
            errors.setdefault(f"criterion_{c.code}", []).append(
                _("Answer “%(criterion)s”: yes or no.") % {"criterion": c.name}
            )
    errors.update(_date_errors(screening_date=screening_date, date_of_birth=date_of_birth, today=today))
    if errors:
        return errors
    age = age_on(date_of_birth, screening_date)
    for c in criteria:
        out_of_bounds = (c.min_age is not None and age < c.min_age) or (c.max_age is not None and age > c.max_age)
        if c.kind == "inclusion" and answers[c.code] and out_of_bounds:
            errors.setdefault("date_of_birth", []).append(
                _(
                    "Age at screening is %(age)s, outside %(min)s–%(max)s years required by “%(criterion)s”: "
                    "correct the date of birth or answer that it is not met."
                )
                % {"age": age, "min": c.min_age, "max": c.max_age, "criterion": c.name}
            )
    return errors


def _date_errors(*, screening_date: date, date_of_birth: date, today: date) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if screening_date > today:
        errors["screening_date"] = [_("Screening date cannot be in the future.")]
    elif screening_date < EARLIEST_PLAUSIBLE_DATE:
        errors["screening_date"] = [
            _("Screening date cannot be before %(date)s.") % {"date": f"{EARLIEST_PLAUSIBLE_DATE:%Y-%m-%d}"}
        ]
    if date_of_birth >= screening_date:
        errors["date_of_birth"] = [_("Date of birth must be before the screening date.")]
    elif age_on(date_of_birth, screening_date) > 70 or age_on(date_of_birth, screening_date) < 12:
        errors["date_of_birth"] = [_("Date of birth gives an impossible age for IVF (outside 12–70 years).")]
    return errors


def consent_errors(*, signed_on: date, screening_date: date, today: date, form_version: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not form_version.strip():
        errors["form_version"] = [_("Enter the consent form version.")]
    if signed_on > today:
        errors["signed_on"] = [_("Consent cannot be signed in the future.")]
    elif signed_on < screening_date:
        errors["signed_on"] = [
            _("Consent cannot be signed before the screening date (%(date)s).") % {"date": f"{screening_date:%Y-%m-%d}"}
        ]
    return errors


def baseline_errors(values: Mapping[str, Decimal | None]) -> dict[str, list[str]]:
    """Range checks per field, then the derived BMI; missing optional AMH is fine."""
    errors: dict[str, list[str]] = {}
    for field, (low, high, unit) in BASELINE_LIMITS.items():
        value = values.get(field)
        if value is None:
            if field != "amh_ng_ml":
                errors[field] = [_("This field is required.")]
            continue
        if not low <= Decimal(value) <= high:
            errors[field] = [
                _("%(value)s %(unit)s is outside the plausible range %(low)s–%(high)s %(unit)s.")
                % {"value": value, "unit": unit, "low": low, "high": high}
            ]
    if "height_cm" not in errors and "weight_kg" not in errors:
        bmi = body_mass_index(values["height_cm"], values["weight_kg"])
        if not BMI_LIMITS[0] <= bmi <= BMI_LIMITS[1]:
            errors["weight_kg"] = [
                _("Height and weight give a BMI of %(bmi)s kg/m², outside %(low)s–%(high)s: check both values.")
                % {"bmi": bmi, "low": BMI_LIMITS[0], "high": BMI_LIMITS[1]}
            ]
    return errors


def withdrawal_errors(*, withdrawn_on: date, signed_on: date, today: date) -> dict[str, list[str]]:
    if withdrawn_on > today:
        return {"withdrawn_on": [_("Withdrawal date cannot be in the future.")]}
    if withdrawn_on < signed_on:
        return {
            "withdrawn_on": [
                _("Withdrawal cannot be before consent was signed (%(date)s).") % {"date": f"{signed_on:%Y-%m-%d}"}
            ]
        }
    return {}


# --- Treatment ---------------------------------------------------------------------------------------

DALTEPARIN_DOSE_IU = (1000, 20000)
MAX_EMBRYOS = 3


def transfer_errors(*, transfer_date: date, randomized_on: date, today: date, embryos: int) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if transfer_date > today:
        errors["transfer_date"] = [_("The transfer date cannot be in the future.")]
    elif transfer_date < randomized_on:
        errors["transfer_date"] = [
            _("The transfer cannot be before randomization (%(date)s).") % {"date": f"{randomized_on:%Y-%m-%d}"}
        ]
    if not 1 <= embryos <= MAX_EMBRYOS:
        errors["embryos_transferred"] = [
            _("Between 1 and %(max)s embryos are transferred, not %(embryos)s.")
            % {"max": MAX_EMBRYOS, "embryos": embryos}
        ]
    return errors


def course_date_errors(*, start: date, stop: date | None, earliest: date, today: date) -> dict[str, list[str]]:
    """A treatment course starts after `earliest` (screening), not in the future, and stops after it starts."""
    errors: dict[str, list[str]] = {}
    if start > today:
        errors["start_date"] = [_("The start date cannot be in the future.")]
    elif start < earliest:
        errors["start_date"] = [
            _("The course cannot start before screening (%(date)s).") % {"date": f"{earliest:%Y-%m-%d}"}
        ]
    if stop is not None and stop < start:
        errors["stop_date"] = [_("The stop date is before the start date.")]
    elif stop is not None and stop > today:
        errors["stop_date"] = [_("The stop date cannot be in the future; leave it empty while ongoing.")]
    return errors


def dalteparin_errors(
    *, dose_iu: int, start: date, stop: date | None, missed_doses: int, earliest: date, today: date
) -> dict[str, list[str]]:
    errors = course_date_errors(start=start, stop=stop, earliest=earliest, today=today)
    low, high = DALTEPARIN_DOSE_IU
    if not low <= dose_iu <= high:
        errors["daily_dose_iu"] = [
            _("%(dose)s IU a day is outside the plausible %(low)s–%(high)s IU.")
            % {"dose": dose_iu, "low": low, "high": high}
        ]
    days = ((stop or today) - start).days + 1
    if missed_doses < 0 or (days > 0 and missed_doses > days):
        errors["missed_doses"] = [
            _("%(missed)s missed doses is impossible over a %(days)s-day course.")
            % {"missed": missed_doses, "days": max(days, 0)}
        ]
    return errors


def receives_dalteparin(arm_is_control: bool) -> bool:
    """The protocol's one arm rule: the control arm has luteal phase support alone, the experimental
    (non-control) arm adds daily dalteparin. Which arm is the control is configuration (core.Arm)."""
    return not arm_is_control


def received_allocated_treatment(arm_is_control: bool, had_dalteparin: bool) -> bool:
    """Part of the per-protocol rule: dalteparin was given exactly when the allocated arm prescribes it."""
    return had_dalteparin == receives_dalteparin(arm_is_control)
