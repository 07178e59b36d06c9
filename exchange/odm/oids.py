"""The OIDs of the study's definitions, by one naming rule that the metadata and the clinical data share.

Events follow the casebook's visits (quality.form_fields.visit_of): `SE.ENROLMENT`, `SE.TREATMENT`,
`SE.TP.<time point>`, `SE.OUTCOME`, `SE.UNSCHEDULED`. Forms are `F.<form>`, one `F.LABS` for every time
point's draw, `F.<instrument>` for a questionnaire; groups `IG.…`, items `I.<form>.<FIELD>`, code lists
`CL.…`, units `MU.…`. Pure: no Django.
"""

import re

from quality.form_fields import visit_of

LAB_FORM = "labs"


def _up(text: str) -> str:
    return text.upper()


def timepoint_event_oid(timepoint: str) -> str:
    return f"SE.TP.{timepoint}"


def visit_event_oid(visit: str) -> str:
    return f"SE.{_up(visit)}"


def event_oid(form_key: str) -> str:
    """The study event a form belongs to, as the casebook groups forms into visits."""
    visit = visit_of(form_key)
    if visit.startswith("timepoint:"):
        return timepoint_event_oid(visit.removeprefix("timepoint:"))
    return visit_event_oid(visit)


def form_oid(form_key: str) -> str:
    """One form definition per fixed form, one for every time point's labs, one per questionnaire."""
    kind, _, rest = form_key.partition(":")
    if kind == LAB_FORM:
        return "F.LABS"
    if kind == "questionnaire":
        return questionnaire_form_oid(rest.split(":")[0])
    return f"F.{_up(form_key)}"


def questionnaire_form_oid(instrument: str) -> str:
    return f"F.{instrument}"


def group_oid(form_key: str, part: str = "") -> str:
    return f"IG.{_up(form_key)}" + (f".{part}" if part else "")


def item_oid(form_key: str, name: str) -> str:
    return f"I.{_up(form_key)}.{_up(name)}"


def criterion_oid(code: str) -> str:
    return f"I.CRITERION.{code}"


def lab_group_oid(analyte: str) -> str:
    return f"IG.LAB.{analyte}"


def lab_item_oid(analyte: str, column: str) -> str:
    return f"I.LAB.{analyte}.{_up(column)}"


def questionnaire_group_oid(instrument: str, scores: bool = False) -> str:
    return f"IG.{instrument}" + (".SCORES" if scores else "")


def answer_oid(instrument: str, key: str) -> str:
    return f"I.{instrument}.ITEM_{key}"


def score_oid(instrument: str, scale: str) -> str:
    return f"I.{instrument}.{_up(scale)}"


def codelist_oid(name: str) -> str:
    return f"CL.{_up(name)}"


def unit_oid(symbol: str) -> str:
    return "MU." + re.sub(r"[^A-Za-z0-9]", "_", symbol.replace("²", "2"))
