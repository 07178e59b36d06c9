"""The audit history's filters: form (record type), field, user and a date range in the site's time zone.

A filter value the trail does not hold, or a date that is no date, is ignored with a message naming it:
a bookmarked or hand-typed address still shows the history, never an error page.
"""

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from casebook.audit_history import TrailFilter, TrailOptions
from core.forms import BootstrapForm, IsoDateInput


class HistoryFilterForm(BootstrapForm):
    record = forms.ChoiceField(label=_("Form"), required=False)
    field = forms.ChoiceField(label=_("Field"), required=False)
    user = forms.ChoiceField(label=_("User"), required=False)
    date_from = forms.DateField(label=_("From"), required=False, widget=IsoDateInput)
    date_to = forms.DateField(label=_("To"), required=False, widget=IsoDateInput)

    def __init__(self, data, *, options: TrailOptions):
        super().__init__(data)
        self.fields["record"].choices = [("", _("All forms")), *options.records]
        self.fields["field"].choices = [("", _("All fields")), *options.fields]
        self.fields["user"].choices = [("", _("All users")), *options.users]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error(None, _("The “From” date is after the “To” date."))
            data.pop("date_from")
            data.pop("date_to")
        return data

    def chosen(self) -> TrailFilter:
        """The valid filters; the others are left out (`ignored` says which and why)."""
        self.is_valid()
        data = self.cleaned_data
        return TrailFilter(
            record=data.get("record") or "",
            field=data.get("field") or "",
            username=data.get("user") or "",
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )

    def ignored(self) -> list[str]:
        """One message per refused filter, naming it: the history is shown without it."""
        messages = []
        for name, errors in self.errors.items():
            label = self.fields[name].label if name in self.fields else gettext("Dates")
            messages += [
                gettext("%(filter)s: %(error)s This filter is ignored.") % {"filter": label, "error": error}
                for error in errors
            ]
        return messages
