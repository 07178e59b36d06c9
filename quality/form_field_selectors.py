"""The configured part of the form-field catalogue (quality.form_fields), read from the database, and a
field's label as a page shows it."""

from django.utils.translation import gettext

from core.models import EligibilityCriterion
from labs.models import Analyte
from outcomes.instruments import SOURCES_NOTE
from quality.form_fields import FieldConfig, FormField


def field_config() -> FieldConfig:
    """Analytes and eligibility criteria as form fields: two queries."""
    return FieldConfig(
        analytes=tuple(
            FormField(code, name, unit)
            for code, name, unit in Analyte.objects.order_by("order", "code").values_list(
                "code", "name", "canonical_unit"
            )
        ),
        criteria=tuple(
            FormField(code, text)
            for code, text in EligibilityCriterion.objects.order_by("order", "code").values_list("code", "text")
        ),
    )


def field_label(field: FormField, *, unit: bool = True) -> str:
    """A field as the user reads it, in their language: "Weight (kg)" (without its unit when the value beside
    it carries the unit), "3. Vigorous activities…"."""
    # SSRS 6 and 7 end with a long note on what to count, translated apart (outcomes.forms.item_text): left out.
    label = gettext(field.label.removesuffix(SOURCES_NOTE)).strip()
    if field.number:
        label = f"{field.number}. {label}"
    if not (field.unit and unit):
        return label
    # Translated as a whole: Chinese puts the unit in full-width brackets, 体重（kg）.
    return gettext("%(label)s (%(unit)s)") % {"label": label, "unit": gettext(field.unit)}
