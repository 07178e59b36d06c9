"""The statistician's "Trial settings" page: recruitment status and blinding of results, each change with a
reason (the service, core.trial_settings, decides; this page only shows and asks)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from core import selectors, trial_settings
from core.exceptions import DomainError
from core.forms import BootstrapForm, add_domain_errors
from core.models import Trial, TrialStatus


class TrialSettingsForm(BootstrapForm):
    status = forms.ChoiceField(label=gettext_lazy("Recruitment status"))
    results_blinded = forms.BooleanField(
        required=False,
        label=gettext_lazy("Results blinded"),
        help_text=gettext_lazy("Dashboards, statistics and exports show pooled figures to users without unblinding."),
    )
    reason = forms.CharField(label=gettext_lazy("Reason for the change"), max_length=500)
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, trial: Trial, **kwargs):
        super().__init__(*args, **kwargs)
        # The current status stays offered (so blinding can change alone), whatever it is, even `locked`.
        statuses = dict.fromkeys([trial.status, *trial_settings.SETTABLE_STATUSES])
        self.fields["status"].choices = [(s, _(TrialStatus(s).label)) for s in statuses]
        if trial.status == TrialStatus.LOCKED:
            self.fields["status"].disabled = True


def _initial(trial: Trial) -> dict:
    version = trial_settings.trial_settings_version(trial)
    return {"status": trial.status, "results_blinded": trial.results_blinded, "version": version}


@require_http_methods(["GET", "POST"])
def trial_settings_view(request):
    if not trial_settings.may_change_trial_settings(request.user):
        raise PermissionDenied(_("Only the statistician changes the trial settings."))
    trial = Trial.objects.order_by("pk").first()
    form = TrialSettingsForm(request.POST or None, trial=trial, initial=_initial(trial))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            trial_settings.trial_settings_update(
                status=data["status"],
                results_blinded=data["results_blinded"],
                reason=data["reason"],
                expected_version=data["version"],
                by=request.user,
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(request, _("Trial settings saved."))
            return redirect("quality:trial_settings")
    context = {"form": form, "trial": trial, "history": selectors.trial_settings_history()}
    return render(request, "quality/trial_settings.html", context, status=400 if form.errors else 200)
