from django import forms

from core.exceptions import DomainError


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
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                _mark_invalid(self, name)
