"""Cross-form checks of pregnancy outcomes and adverse events. Pure: plain values in, messages out (in
the user's language: Django's translation function is the only Django used here)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

MISCARRIAGE_WEEKS = (4, 27)  # a loss from 28 weeks is a stillbirth, not a miscarriage
MIN_WEEKS_TO_LIVE_BIRTH = 20
MAX_INFANTS = 4
MAX_SACS = 9  # nonuplets are the most ever recorded; the form offers no more


@dataclass
class Findings:
    errors: dict[str, list[str]] = field(default_factory=dict)
    # Warnings need an explicit confirmation before the record is saved.
    warnings: dict[str, list[str]] = field(default_factory=dict)

    def error(self, field_name: str, message: str) -> None:
        self.errors.setdefault(field_name, []).append(message)


def _requires(found: Findings, v: Mapping, flag: str, needed: list[str], message: str) -> None:
    if v.get(flag):
        for name in needed:
            if v.get(name) in (None, ""):
                found.error(name, message)


def _dates(found: Findings, v: Mapping, transfer_date: date, today: date) -> None:
    for name in ("beta_hcg_date", "ultrasound_date", "miscarriage_date", "live_birth_date"):
        value = v.get(name)
        if value is None:
            continue
        if value <= transfer_date:
            found.error(
                name, _("Must be after the embryo transfer (%(date)s).") % {"date": f"{transfer_date:%Y-%m-%d}"}
            )
        elif value > today:
            found.error(name, _("Cannot be in the future."))
    birth = v.get("live_birth_date")
    if birth and birth > transfer_date and (birth - transfer_date).days < MIN_WEEKS_TO_LIVE_BIRTH * 7:
        found.error(
            "live_birth_date",
            _("A live birth comes at least %(weeks)s weeks after transfer.") % {"weeks": MIN_WEEKS_TO_LIVE_BIRTH},
        )


def _consistency(found: Findings, v: Mapping) -> None:
    if v.get("clinical_pregnancy") and not v.get("beta_hcg_positive"):
        found.error("clinical_pregnancy", _("A clinical pregnancy needs a positive β-hCG."))
    if v.get("ectopic") and not v.get("beta_hcg_positive"):
        found.error("ectopic", _("An ectopic pregnancy needs a positive β-hCG."))
    if v.get("miscarriage") and not v.get("clinical_pregnancy"):
        found.error("miscarriage", _("A miscarriage requires a clinical pregnancy."))
    if v.get("ongoing_pregnancy") and not v.get("clinical_pregnancy"):
        found.error("ongoing_pregnancy", _("An ongoing pregnancy requires a clinical pregnancy."))
    if v.get("miscarriage") and v.get("ongoing_pregnancy"):
        found.error("ongoing_pregnancy", _("A miscarriage and an ongoing pregnancy at 12 weeks exclude each other."))
    if v.get("live_birth") and not v.get("ongoing_pregnancy"):
        found.error("live_birth", _("A live birth requires an ongoing pregnancy at 12 weeks."))
    if v.get("clinical_pregnancy") and (v.get("gestational_sacs") or 0) < 1:
        found.error("gestational_sacs", _("A clinical pregnancy has at least one gestational sac."))
    if not v.get("clinical_pregnancy") and v.get("gestational_sacs"):
        found.error("gestational_sacs", _("Gestational sacs are recorded only for a clinical pregnancy."))


def _ranges(found: Findings, v: Mapping) -> None:
    week = v.get("miscarriage_week")
    if week is not None and not MISCARRIAGE_WEEKS[0] <= week <= MISCARRIAGE_WEEKS[1]:
        found.error(
            "miscarriage_week",
            _("Gestational week %(week)s is outside %(low)s–%(high)s.")
            % {"week": week, "low": MISCARRIAGE_WEEKS[0], "high": MISCARRIAGE_WEEKS[1]},
        )
    sacs = v.get("gestational_sacs")
    if sacs is not None and not 0 <= sacs <= MAX_SACS:
        found.error(
            "gestational_sacs",
            _("%(sacs)s gestational sacs is outside 0–%(max)s.") % {"sacs": sacs, "max": MAX_SACS},
        )
    infants = v.get("infants")
    if infants is not None and not 1 <= infants <= MAX_INFANTS:
        found.error(
            "infants", _("%(infants)s infants is outside 1–%(max)s.") % {"infants": infants, "max": MAX_INFANTS}
        )
    hcg = v.get("beta_hcg_value")
    if hcg is not None and hcg < 0:
        found.error("beta_hcg_value", _("β-hCG cannot be negative."))


def pregnancy_outcome_findings(
    values: Mapping, *, transfer_date: date, embryos_transferred: int, today: date
) -> Findings:
    """Errors (refuse) and warnings (need confirmation) for one pregnancy outcome form."""
    found = Findings()
    _requires(
        found, values, "beta_hcg_positive", ["beta_hcg_date", "beta_hcg_value"], _("Required when β-hCG is positive.")
    )
    _requires(
        found, values, "clinical_pregnancy", ["ultrasound_date"], _("Required when there is a clinical pregnancy.")
    )
    _requires(
        found,
        values,
        "miscarriage",
        ["miscarriage_date", "miscarriage_week"],
        _("Required when there was a miscarriage."),
    )
    _requires(found, values, "live_birth", ["live_birth_date", "infants"], _("Required when there was a live birth."))
    _consistency(found, values)
    _ranges(found, values)
    _dates(found, values, transfer_date, today)
    sacs = values.get("gestational_sacs") or 0
    if sacs > embryos_transferred:
        found.warnings.setdefault("gestational_sacs", []).append(
            ngettext(
                "%(sacs)s sacs but %(embryos)s embryo transferred: confirm (e.g. monozygotic twins) or correct.",
                "%(sacs)s sacs but %(embryos)s embryos transferred: confirm (e.g. monozygotic twins) or correct.",
                embryos_transferred,
            )
            % {"sacs": sacs, "embryos": embryos_transferred}
        )
    return found


def _ae_dates(found: Findings, values: Mapping, earliest: date, today: date) -> None:
    onset, resolved = values.get("onset_date"), values.get("resolution_date")
    if onset is not None and onset > today:
        found.error("onset_date", _("The onset cannot be in the future."))
    elif onset is not None and onset < earliest:
        found.error(
            "onset_date", _("The onset cannot be before consent (%(date)s).") % {"date": f"{earliest:%Y-%m-%d}"}
        )
    if resolved is not None and onset is not None and resolved < onset:
        found.error("resolution_date", _("Resolution cannot be before onset."))
    if resolved is not None and resolved > today:
        found.error("resolution_date", _("Resolution cannot be in the future."))


def _ae_severity(found: Findings, values: Mapping) -> None:
    grade, outcome, resolved = values.get("grade"), values.get("outcome"), values.get("resolution_date")
    if grade is not None and not 1 <= grade <= 5:
        found.error("grade", _("CTCAE grades run 1–5, not %(grade)s.") % {"grade": grade})
    if (grade == 5) != (outcome == "fatal"):
        found.error("outcome", _("Grade 5 (death) and outcome 'fatal' go together."))
    if grade == 5 and not values.get("serious"):
        found.error("serious", _("A fatal event is serious."))
    if outcome in ("recovered", "recovered_with_sequelae") and resolved is None:
        found.error("resolution_date", _("Give the resolution date of a recovered event."))
    if outcome in ("not_recovered", "recovering") and resolved is not None:
        found.error("resolution_date", _("An event not yet recovered has no resolution date."))


def adverse_event_errors(values: Mapping, *, earliest: date, today: date) -> dict[str, list[str]]:
    """Consistency of one adverse event: dates, grade vs seriousness and outcome, free text for 'other'."""
    found = Findings()
    if values.get("term") == "other" and not str(values.get("term_other") or "").strip():
        found.error("term_other", _("Describe the event when the term is 'other'."))
    _ae_dates(found, values, earliest, today)
    _ae_severity(found, values)
    return found.errors
