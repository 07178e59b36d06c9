"""Registry rules as pure functions: no database (pytest-django would refuse any query here)."""

from datetime import date
from decimal import Decimal

from patients import rules

CRITERIA = [
    rules.CriterionSpec("AGE_20_40", "inclusion", 20, 40),
    rules.CriterionSpec("NORMAL_CAVITY", "inclusion", text="Normal uterine cavity"),
    rules.CriterionSpec("BLEEDING_DISORDER", "exclusion"),
]
ELIGIBLE = {"AGE_20_40": True, "NORMAL_CAVITY": True, "BLEEDING_DISORDER": False}
TODAY = date(2025, 6, 1)


def test_age_counts_completed_years_around_the_birthday():
    assert rules.age_on(date(1990, 6, 2), date(2025, 6, 1)) == 34
    assert rules.age_on(date(1990, 6, 1), date(2025, 6, 1)) == 35
    assert rules.age_on(date(1992, 2, 29), date(2025, 2, 28)) == 32


def test_bmi_is_weight_over_height_squared_rounded_half_up():
    assert rules.body_mass_index(Decimal("160.0"), Decimal("56.0")) == Decimal("21.88")
    assert rules.body_mass_index(Decimal("170"), Decimal("65")) == Decimal("22.49")


def test_eligible_only_when_all_inclusions_met_and_no_exclusion_present():
    assert rules.evaluate_eligibility(CRITERIA, ELIGIBLE) == rules.EligibilityResult(True, ())
    failed = rules.evaluate_eligibility(CRITERIA, {**ELIGIBLE, "NORMAL_CAVITY": False, "BLEEDING_DISORDER": True})
    assert failed == rules.EligibilityResult(False, ("NORMAL_CAVITY", "BLEEDING_DISORDER"))


def test_unanswered_and_unknown_criteria_are_named():
    errors = rules.screening_errors(
        CRITERIA,
        {"AGE_20_40": True, "NORMAL_CAVITY": "maybe", "EXTRA": True},
        date_of_birth=date(1990, 1, 1),
        screening_date=date(2025, 1, 1),
        today=TODAY,
    )
    assert errors["criterion_NORMAL_CAVITY"] == ["Answer “Normal uterine cavity”: yes or no."]
    assert errors["criterion_BLEEDING_DISORDER"] == ["Answer “BLEEDING_DISORDER”: yes or no."]  # no text given
    assert errors["criteria"] == ["Unknown criterion EXTRA."]


def test_age_criterion_answered_met_must_agree_with_date_of_birth():
    errors = rules.screening_errors(
        CRITERIA, ELIGIBLE, date_of_birth=date(1980, 1, 1), screening_date=date(2025, 1, 1), today=TODAY
    )
    assert "Age at screening is 45, outside 20–40" in errors["date_of_birth"][0]
    # Answered 'not met', the same age is consistent: she is simply ineligible.
    assert not rules.screening_errors(
        CRITERIA,
        {**ELIGIBLE, "AGE_20_40": False},
        date_of_birth=date(1980, 1, 1),
        screening_date=date(2025, 1, 1),
        today=TODAY,
    )


def test_impossible_dates_are_refused():
    future = rules.screening_errors(
        CRITERIA, ELIGIBLE, date_of_birth=date(1990, 1, 1), screening_date=date(2025, 7, 1), today=TODAY
    )
    assert future["screening_date"] == ["Screening date cannot be in the future."]
    born_after = rules.screening_errors(
        CRITERIA, ELIGIBLE, date_of_birth=date(2025, 2, 1), screening_date=date(2025, 1, 1), today=TODAY
    )
    assert born_after["date_of_birth"] == ["Date of birth must be before the screening date."]
    too_old = rules.screening_errors(
        CRITERIA, ELIGIBLE, date_of_birth=date(1900, 1, 1), screening_date=date(2025, 1, 1), today=TODAY
    )
    assert "impossible age" in too_old["date_of_birth"][0]


def test_consent_dates_must_follow_screening_and_not_be_future():
    base = {"screening_date": date(2025, 1, 10), "today": TODAY, "form_version": "v1"}
    assert rules.consent_errors(signed_on=date(2025, 1, 9), **base)["signed_on"][0].startswith(
        "Consent cannot be signed before the screening date"
    )
    assert rules.consent_errors(signed_on=date(2025, 7, 1), **base)["signed_on"] == [
        "Consent cannot be signed in the future."
    ]
    assert rules.consent_errors(signed_on=date(2025, 1, 10), **{**base, "form_version": " "})["form_version"]
    assert not rules.consent_errors(signed_on=date(2025, 1, 10), **base)


def _baseline(**overrides):
    values = {
        "height_cm": Decimal("160"),
        "weight_kg": Decimal("56"),
        "previous_failed_transfers": Decimal("2"),
        "prior_miscarriages": Decimal("1"),
        "infertility_years": Decimal("3"),
        "amh_ng_ml": None,
    }
    return {**values, **overrides}


def test_baseline_ranges_name_the_field_value_and_limits():
    assert not rules.baseline_errors(_baseline())
    errors = rules.baseline_errors(_baseline(height_cm=Decimal("400"), prior_miscarriages=Decimal("-1")))
    assert errors["height_cm"] == ["400 cm is outside the plausible range 120–220 cm."]
    assert errors["prior_miscarriages"] == ["-1 miscarriages is outside the plausible range 0–20 miscarriages."]


def test_baseline_refuses_a_bmi_no_one_has_even_when_each_value_is_plausible():
    errors = rules.baseline_errors(_baseline(height_cm=Decimal("215"), weight_kg=Decimal("31")))
    assert "BMI of 6.71" in errors["weight_kg"][0]


def test_baseline_requires_everything_but_amh():
    errors = rules.baseline_errors(_baseline(weight_kg=None))
    assert errors == {"weight_kg": ["This field is required."]}


def test_withdrawal_date_between_consent_and_today():
    assert rules.withdrawal_errors(withdrawn_on=date(2025, 1, 1), signed_on=date(2025, 2, 1), today=TODAY)
    assert rules.withdrawal_errors(withdrawn_on=date(2025, 7, 1), signed_on=date(2025, 2, 1), today=TODAY)
    assert not rules.withdrawal_errors(withdrawn_on=date(2025, 3, 1), signed_on=date(2025, 2, 1), today=TODAY)
