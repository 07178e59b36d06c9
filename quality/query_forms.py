"""The query list's inputs: its filters (GET) and its bulk actions (POST). Input shape only: which queries
a user may see and act on is decided by the selectors and services."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm
from quality.models import QueryOrigin, QueryStatus
from quality.services.bulk_queries import MAX_BATCH

MAX_AGE_DAYS = 36500


class QueryFilterForm(BootstrapForm):
    """Every filter is optional; a bad one is reported and ignored, the others still apply."""

    site = forms.ChoiceField(label=_("Site"), required=False)
    form = forms.ChoiceField(label=_("Form"), required=False)
    field = forms.CharField(label=_("Field"), required=False, max_length=60)
    status = forms.ChoiceField(label=_("Status"), choices=[("", _("Any status")), *QueryStatus.choices], required=False)
    origin = forms.ChoiceField(label=_("Origin"), choices=[("", _("Any origin")), *QueryOrigin.choices], required=False)
    min_age = forms.IntegerField(label=_("Age at least (days)"), required=False, min_value=0, max_value=MAX_AGE_DAYS)
    study_id = forms.CharField(label=_("Patient (study id)"), required=False, max_length=16)

    def __init__(self, *args, sites=(), form_keys=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].choices = [("", _("Any site")), *((code, code) for code in sites)]
        self.fields["form"].choices = [("", _("Any form")), *((key, key) for key in form_keys)]
        self.fields["min_age"].widget.attrs["inputmode"] = "numeric"

    def clean_study_id(self) -> str:
        return self.cleaned_data["study_id"].strip().upper()

    def valid_filters(self) -> dict:
        """The filters that passed validation, by selector keyword (the bad ones are left out)."""
        if not self.is_bound:
            return {}
        self.is_valid()
        values = {name: value for name, value in self.cleaned_data.items() if value not in ("", None)}
        if "site" in values:
            values["site_code"] = values.pop("site")
        return values


class QueryIdsField(forms.Field):
    """The ticked queries: whole numbers, each once, at least one, at most MAX_BATCH."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {
        "required": _("Select at least one query."),
        "invalid": _("“%(value)s” is not a query number."),
        "too_many": _("Select at most %(limit)d queries at a time."),
    }

    def to_python(self, value) -> list[int]:
        ids: list[int] = []
        for raw in value or []:
            text = str(raw).strip()
            if not (text.isascii() and text.isdigit()) or len(text) > 12:
                raise ValidationError(self.error_messages["invalid"], code="invalid", params={"value": text[:20]})
            if int(text) not in ids:
                ids.append(int(text))
        if len(ids) > MAX_BATCH:
            raise ValidationError(self.error_messages["too_many"], code="too_many", params={"limit": MAX_BATCH})
        return ids


class BulkQueryForm(BootstrapForm):
    """One message for every ticked query; `version_<id>` says which version of a query the page showed."""

    ACTIONS = (("answer", _("Answer")), ("close", _("Close")))

    action = forms.ChoiceField(label=_("Action"), choices=ACTIONS)
    query = QueryIdsField(label=_("Queries"))
    message = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )

    def clean(self):
        cleaned = super().clean()
        versions = {}
        for pk in cleaned.get("query") or []:
            raw = (self.data.get(f"version_{pk}") or "").strip()
            if not raw:
                continue  # a hand-made post without versions is still checked against each query's status
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 9:
                message = _("The page sent a damaged version of query %(number)s: reload it.")
                raise ValidationError(message, params={"number": pk})
            versions[pk] = int(raw)
        cleaned["versions"] = versions
        return cleaned
