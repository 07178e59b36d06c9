from django import forms
from django.contrib import messages as flash
from django.utils.translation import gettext_lazy as _

from core.exceptions import DomainError
from core.input_bounds import bound_form_fields


class IsoDateInput(forms.DateInput):
    """A browser date picker. Its value is ISO (YYYY-MM-DD) whatever the page's language: the browser reads
    no other shape, and Django's localized format (zh-hans: 2023/03/11) left the input empty, so a
    correction saved in Chinese lost its date."""

    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class IsoDateTimeInput(forms.DateTimeInput):
    """A browser date-time picker, valued YYYY-MM-DDThh:mm in every language (see IsoDateInput)."""

    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


# The empty first option of every select: nothing is chosen for the user (issue 20: selects preselected their
# first option, so a hurried "Save" recorded an answer nobody gave). Radios get no empty choice: none is checked.
CHOOSE = _("Choose…")


def blank_first(choices) -> list:
    """`choices` after an empty "Choose…" option, which a required field refuses ("This field is required.")."""
    return [("", CHOOSE), *choices]


def _mark_invalid(form: forms.Form, name: str) -> None:
    widget = form.fields[name].widget
    if "is-invalid" not in widget.attrs.get("class", ""):
        widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()


def add_domain_errors(form, error: DomainError) -> None:
    """Show a service's refusal on the form: field messages beside fields, the rest at the top."""
    for field, messages in error.errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)
        if target:
            _mark_invalid(form, target)


def run_form_action(request, form, action, done: str) -> bool:
    """Call the service with the form's data; show its refusal on the form (True when it succeeded)."""
    try:
        action(form.cleaned_data)
    except DomainError as error:
        add_domain_errors(form, error)
        return False
    flash.success(request, done)
    return True


class BootstrapForm(forms.Form):
    """Adds Bootstrap classes to widgets so templates stay plain loops over fields."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.RadioSelect | forms.HiddenInput | forms.CheckboxInput):
                continue
            css = "form-select" if isinstance(widget, forms.Select) else "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def full_clean(self):
        # Here, not in __init__: subclasses add fields after it (an analyte's value, a questionnaire's items).
        bound_form_fields(self.fields)  # no unbounded text or number reaches a service (core.input_bounds)
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                _mark_invalid(self, name)


def bootstrap_widgets(form) -> None:
    """Bootstrap classes for a form that is not a BootstrapForm (Django's password forms)."""
    for field in form.fields.values():
        field.widget.attrs["class"] = f"{field.widget.attrs.get('class', '')} form-control".strip()


class GrantDecisionForm(BootstrapForm):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject")], widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), max_length=500)


class AccessReviewForm(BootstrapForm):
    remarks = forms.CharField(
        label=_("Remarks"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("What you checked and what you changed or asked others to change."),
    )
