from django import forms

from core.forms import BootstrapForm
from quality.models import QueryStatus, SignatureMeaning


class RaiseQueryForm(BootstrapForm):
    form = forms.ChoiceField(label="Form")
    field = forms.CharField(label="Field", max_length=60, help_text="e.g. signed_on, weight_kg, IL6")
    message = forms.CharField(label="Question", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)

    def __init__(self, *args, form_choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["form"].choices = list(form_choices)


class MessageForm(BootstrapForm):
    message = forms.CharField(
        label="Message", widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, required=False
    )


class SignForm(BootstrapForm):
    username = forms.CharField(label="User name", max_length=150)
    password = forms.CharField(label="Password", widget=forms.PasswordInput)
    meaning = forms.ChoiceField(
        label="Meaning of this signature", choices=SignatureMeaning.choices, widget=forms.RadioSelect
    )


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label="Reason", max_length=500)


class QueryFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "Any status"), *QueryStatus.choices], required=False)
    origin = forms.ChoiceField(
        choices=[("", "Any origin"), ("manual", "Manual"), ("automatic", "Automatic")], required=False
    )
    study_id = forms.CharField(required=False, max_length=16)
    site = forms.CharField(required=False, max_length=6)
