from django import forms
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm


class DatabaseLockForm(BootstrapForm):
    reason = forms.CharField(label=_("Reason"), max_length=500)
    # Required by the service only when the checklist has open items; blank otherwise.
    override_reason = forms.CharField(
        label=_("Why lock with open items"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed when the checklist above shows open items; kept with the lock."),
    )
