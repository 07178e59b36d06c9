"""The catalogue of each form's fields (quality.form_fields), without the database: what a query may be
about, and the visits the review groups forms into. The automatic checks raise on catalogued fields."""

from datetime import date
from decimal import Decimal

from labs.ranges import Window
from outcomes.instruments import INSTRUMENT_ITEMS
from quality import checks
from quality.form_fields import FieldConfig, FormField, field_of, form_fields, visit_of

ANALYTES = tuple(FormField(code, code, "IU/L") for code in ("FSH", "LH", "E2", "CA125", "IL6", "BHCG"))
CONFIG = FieldConfig(analytes=ANALYTES, criteria=(FormField("AGE_20_40", "Aged 20 to 40"),))


def _names(form_key: str) -> list[str]:
    return [f.name for f in form_fields(form_key, CONFIG)]


def test_fixed_forms_list_their_model_fields_in_form_order():
    assert _names("baseline")[:2] == ["height_cm", "weight_kg"]
    assert "Weight" not in _names("baseline") and field_of("baseline", "Weight", CONFIG) is None
    assert field_of("baseline", "weight_kg", CONFIG) == FormField("weight_kg", "Weight", "kg")
    assert _names("consent") == ["form_version", "signed_on", "withdrawn_on", "withdrawal_reason"]
    assert "gestational_sacs" in _names("outcome") and "weight_kg" not in _names("outcome")


def test_configured_forms_follow_the_analytes_criteria_and_instrument_items():
    assert _names("screening") == ["screening_date", "age_at_enrolment", "AGE_20_40", "eligible"]
    assert _names("labs:ET14") == ["drawn_at", "FSH", "LH", "E2", "CA125", "IL6", "BHCG"]
    rand36 = _names("questionnaire:RAND36:ET28")
    assert rand36[0] == "completed_on" and len(rand36) == 1 + len(INSTRUMENT_ITEMS["RAND36"])
    assert "item_1" in rand36 and "item_5a" in _names("questionnaire:SSRS:BASELINE")
    assert _names("questionnaire:NOPE:ET14") == ["completed_on"]


def test_unknown_forms_have_no_fields():
    for key in ("", "weight", "labs", "labs:", "questionnaire:RAND36", "Baseline"):
        assert form_fields(key, CONFIG) == (), key


def test_forms_are_grouped_into_visits_by_time_point():
    assert [visit_of(k) for k in ("screening", "consent", "baseline", "randomization")] == ["enrolment"] * 4
    assert [visit_of(k) for k in ("transfer", "luteal_support", "dalteparin")] == ["treatment"] * 3
    assert visit_of("labs:ET14") == visit_of("questionnaire:SSRS:ET14") == "timepoint:ET14"
    assert (visit_of("outcome"), visit_of("adverse_events"), visit_of("deviations")) == (
        "outcome",
        "unscheduled",
        "unscheduled",
    )


def test_every_automatic_check_raises_on_a_field_of_its_form():
    """A finding of every check, on every analyte: each names a catalogued field of its form."""
    results = [checks.LabResultFact(1, "ET14", a.name, "high", "999", "IU/L") for a in ANALYTES]
    draws = [checks.LabDrawFact(1, "ET14", date(2025, 1, 30), date(2025, 1, 1), Window(14, 2, 2))]
    outcome = checks.OutcomeFact(1, True, Decimal("2"), 3, 1, False, False, True)
    findings = (
        checks.lab_range_findings(results) + checks.lab_window_findings(draws) + checks.outcome_findings([outcome])
    )
    codes = {f.check_code.split(":")[0] for f in findings}
    assert codes >= {"lab-range", "lab-window", "outcome-sacs-exceed-embryos", "outcome-hcg-positive-below-cutoff"}
    assert "outcome-ongoing-without-heartbeat" in codes
    for finding in findings:
        assert field_of(finding.form, finding.field, CONFIG) is not None, (finding.form, finding.field)
