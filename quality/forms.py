from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm, blank_first
from quality.models import SignatureMeaning


class RaiseQueryForm(BootstrapForm):
    form = forms.ChoiceField(label=_("Form"))
    # A list of the forms' fields, grouped by form; whatever is posted reaches the service, which checks it is
    # a field of the chosen form (quality.form_fields): a page, a hand-made post and the API meet one rule.
    field = forms.CharField(
        label=_("Field"), widget=forms.Select, help_text=_("Choose the form first: the list shows its fields.")
    )
    message = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, form_choices=(), field_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.offer(form_choices, field_choices)

    def offer(self, form_choices, field_choices) -> None:
        """The casebook's forms, and their fields grouped by form: [(form label, [(name, label), ...]), ...]."""
        self.fields["form"].choices = blank_first(form_choices)
        self.fields["field"].widget.choices = blank_first(field_choices)


class MessageForm(BootstrapForm):
    message = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )


class SignForm(BootstrapForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    # Bounded like the token endpoint's (core.auth_api.MAX_PASSWORD_LENGTH): nothing hashes a megabyte.
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=1024)
    # Chosen by the signer every time: nothing is checked beforehand (21 CFR 11.50, the meaning is signed).
    meaning = forms.ChoiceField(
        label=_("Meaning of this signature"),
        choices=SignatureMeaning.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what your signature means.")},
    )


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)
