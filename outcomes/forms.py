from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm, IsoDateInput, blank_first
from outcomes import rules
from outcomes.instruments import SOURCES_NOTE, Item
from outcomes.models import ActionTaken, AdverseEventTerm, AeOutcome, Relatedness
from outcomes.services import OUTCOME_FIELDS


def item_text(item: Item) -> str:
    """An item's text in the user's language; SSRS 6 and 7 end with the sources note, translated apart."""
    if item.text.endswith(SOURCES_NOTE):
        return gettext(item.text.removesuffix(SOURCES_NOTE)) + gettext(SOURCES_NOTE)
    return gettext(item.text)


# "Not known yet" is a choice of its own, not the empty value: an empty value would check it on a new form,
# answering for the user. Left unanswered, these optional questions are not known yet either.
UNKNOWN = "unknown"
YES_NO = [("True", _("Yes")), ("False", _("No"))]
YES_NO_UNKNOWN = [(UNKNOWN, _("Not known yet")), ("True", _("Yes")), ("False", _("No"))]
_ANSWERS = {"True": True, "False": False, UNKNOWN: None}


def _yes_no(label: str, *, unknown: bool = False) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(
        label=label,
        choices=YES_NO_UNKNOWN if unknown else YES_NO,
        coerce=_ANSWERS.get,
        empty_value=None,
        required=not unknown,
        widget=forms.RadioSelect,
    )


class ReasonFields(BootstrapForm):
    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Why is this being changed?")
    )
    version = forms.IntegerField(widget=forms.HiddenInput)


class PregnancyOutcomeForm(BootstrapForm):
    beta_hcg_positive = _yes_no(_("β-hCG positive"))
    beta_hcg_date = forms.DateField(widget=IsoDateInput, required=False, label=_("β-hCG date"))
    beta_hcg_value = forms.DecimalField(required=False, label=_("β-hCG value (IU/L)"), max_digits=10, decimal_places=2)
    clinical_pregnancy = _yes_no(_("Clinical pregnancy (sac on ultrasound)"))
    ultrasound_date = forms.DateField(widget=IsoDateInput, required=False, label=_("Ultrasound date"))
    gestational_sacs = forms.IntegerField(
        required=False, min_value=0, max_value=rules.MAX_SACS, label=_("Gestational sacs")
    )
    fetal_heartbeat = _yes_no(_("Fetal heartbeat"), unknown=True)
    ectopic = _yes_no(_("Ectopic pregnancy"))
    miscarriage = _yes_no(_("Miscarriage"))
    miscarriage_date = forms.DateField(widget=IsoDateInput, required=False, label=_("Miscarriage date"))
    miscarriage_week = forms.IntegerField(required=False, label=_("Miscarriage: gestational week"))
    ongoing_pregnancy = _yes_no(_("Ongoing pregnancy at 12 weeks"), unknown=True)
    live_birth = _yes_no(_("Live birth"), unknown=True)
    live_birth_date = forms.DateField(widget=IsoDateInput, required=False, label=_("Live birth date"))
    infants = forms.IntegerField(required=False, min_value=0, label=_("Number of infants"))
    confirm_sacs = forms.BooleanField(
        required=False,
        label=_("I confirm more gestational sacs than embryos transferred (e.g. monozygotic twins)"),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def outcome_data(self) -> dict:
        return {name: self.cleaned_data.get(name) for name in OUTCOME_FIELDS}


ANSWERS_NOT_KNOWN_YET = ("fetal_heartbeat", "ongoing_pregnancy", "live_birth")  # the questions with that answer


class PregnancyOutcomeEditForm(ReasonFields, PregnancyOutcomeForm):
    field_order = [*PregnancyOutcomeForm.base_fields, "reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # A stored "not known yet" (None) shows as that answer, checked.
        not_known = {
            name: UNKNOWN for name in ANSWERS_NOT_KNOWN_YET if name in self.initial and self.initial[name] is None
        }
        self.initial = {**self.initial, **not_known}


class AdverseEventForm(BootstrapForm):
    term = forms.ChoiceField(choices=blank_first(AdverseEventTerm.choices), label=_("Term"))
    term_other = forms.CharField(required=False, max_length=200, label=_("Other: describe"))
    onset_date = forms.DateField(widget=IsoDateInput, label=_("Onset date"))
    resolution_date = forms.DateField(widget=IsoDateInput, required=False, label=_("Resolution date"))
    grade = forms.TypedChoiceField(
        choices=blank_first((g, format_lazy(_("Grade {}"), g)) for g in range(1, 6)),
        coerce=int,
        label=_("CTCAE grade"),
    )
    serious = forms.BooleanField(
        required=False,
        label=_("Serious adverse event (SAE)"),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    related_to_dalteparin = forms.ChoiceField(
        choices=blank_first(Relatedness.choices), label=_("Related to dalteparin")
    )
    action_taken = forms.ChoiceField(choices=blank_first(ActionTaken.choices), label=_("Action taken"))
    outcome = forms.ChoiceField(choices=blank_first(AeOutcome.choices), label=pgettext_lazy("adverse event", "Outcome"))


class AdverseEventEditForm(ReasonFields, AdverseEventForm):
    field_order = [*AdverseEventForm.base_fields, "reason"]


class QuestionnaireForm(BootstrapForm):
    """Item by item; unanswered items stay empty (RAND-36 scales are scored from half their items)."""

    completed_on = forms.DateField(widget=IsoDateInput, label=_("Completed on"))

    def __init__(self, *args, items, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items
        for item in items:
            if item.options:
                field = forms.TypedChoiceField(
                    choices=[(o.value, gettext(o.label)) for o in item.options],
                    coerce=int,
                    required=False,
                    widget=forms.RadioSelect,
                )
            else:
                low, high = item.count_range
                field = forms.IntegerField(
                    required=False, min_value=low, max_value=high, help_text=gettext("0 = no source")
                )
                field.widget.attrs["class"] = "form-control"
            # The questionnaire's own wording, marked in outcomes.instruments (see its translation note).
            field.label = f"{item.key}. {item_text(item)}"
            self.fields[f"item_{item.key}"] = field

    def item_rows(self):
        return [(item, self[f"item_{item.key}"]) for item in self.items]

    def answers(self) -> dict[str, int]:
        found = {item.key: self.cleaned_data.get(f"item_{item.key}") for item in self.items}
        return {key: value for key, value in found.items() if value not in (None, "")}


class QuestionnaireEditForm(ReasonFields, QuestionnaireForm):
    pass
