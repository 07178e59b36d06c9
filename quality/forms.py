from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm
from quality.models import QueryOrigin, QueryStatus, SignatureMeaning


class RaiseQueryForm(BootstrapForm):
    form = forms.ChoiceField(label=_("Form"))
    field = forms.CharField(label=_("Field"), max_length=60, help_text=_("e.g. signed_on, weight_kg, IL6"))
    message = forms.CharField(label=_("Question"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, form_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form"].choices = list(form_choices)


class MessageForm(BootstrapForm):
    message = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )


class SignForm(BootstrapForm):
    username = forms.CharField(label=_("User name"), max_length=150)
    # Bounded like the token endpoint's (core.auth_api.MAX_PASSWORD_LENGTH): nothing hashes a megabyte.
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput, max_length=1024)
    meaning = forms.ChoiceField(
        label=_("Meaning of this signature"), choices=SignatureMeaning.choices, widget=forms.RadioSelect
    )


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)


class QueryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", _("Any status")), *QueryStatus.choices], required=False)
    origin = forms.ChoiceField(choices=[("", _("Any origin")), *QueryOrigin.choices], required=False)
    study_id = forms.CharField(required=False, max_length=16)
    site = forms.CharField(required=False, max_length=6)
