"""Input shape of the registry forms; the rules themselves live in patients.rules via the services."""

import zoneinfo
from datetime import date

from django import forms
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import CHOOSE, BootstrapForm, IsoDateInput, blank_first
from core.models import EligibilityCriterion, Site
from patients.models import AgeGroup, CycleType, Education, EmbryoStage, InfertilityType, Route
from patients.services import BaselineInput, IdentityInput

YES_NO = [("yes", _("Yes")), ("no", _("No"))]


class SiteChoiceField(forms.ModelChoiceField):
    """Sites as "SZ — name", the seeded name translated (it is configuration: see core.terms)."""

    def label_from_instance(self, obj):
        return f"{obj.code} — {gettext(obj.name)}"


class ReasonMixin(BootstrapForm):
    """Edits of existing data carry a reason and the version the user started from."""

    reason = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 2}), help_text=_("Why is this being changed?")
    )
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class IdentityFields(BootstrapForm):
    full_name = forms.CharField(max_length=200, label=_("Full name"))
    medical_record_number = forms.CharField(max_length=50, label=_("Medical record number"))
    date_of_birth = forms.DateField(widget=IsoDateInput, label=_("Date of birth"))
    phone = forms.CharField(max_length=40, required=False, label=_("Phone"))

    def identity(self) -> IdentityInput:
        data = self.cleaned_data
        return IdentityInput(
            full_name=data["full_name"],
            medical_record_number=data["medical_record_number"],
            date_of_birth=data["date_of_birth"],
            phone=data.get("phone") or "",
        )


def today_at(sites) -> date:
    """Today's date where the sites are: in their time zone, or the project's when they differ."""
    zones = set(sites.values_list("time_zone", flat=True))
    zone = zoneinfo.ZoneInfo(zones.pop()) if len(zones) == 1 else timezone.get_default_timezone()
    return timezone.localdate(timezone=zone)


class ScreeningForm(IdentityFields):
    site = SiteChoiceField(queryset=Site.objects.none(), empty_label=CHOOSE, label=_("Site"))
    screening_date = forms.DateField(widget=IsoDateInput, label=_("Screening date"))

    field_order = ["site", "screening_date", "full_name", "medical_record_number", "date_of_birth", "phone"]

    def __init__(self, *args, sites, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites
        if not self.is_bound:  # most patients are screened the day they are registered
            self.fields["screening_date"].initial = today_at(sites)
        self.criteria = list(EligibilityCriterion.objects.filter(active=True))
        for criterion in self.criteria:
            if criterion.kind == "inclusion":
                question = gettext("Inclusion: %(criterion)s — met?")
            else:
                question = gettext("Exclusion: %(criterion)s — present?")
            self.fields[f"criterion_{criterion.code}"] = forms.ChoiceField(
                # The criterion text is configuration: the seeded texts are in the catalogue (core.terms).
                label=question % {"criterion": gettext(criterion.text)},
                choices=YES_NO,
                widget=forms.RadioSelect,
            )

    def identity_fields(self):
        return [self[name] for name in self.field_order]

    def criterion_fields(self):
        return [self[f"criterion_{c.code}"] for c in self.criteria]

    def answers(self) -> dict[str, bool]:
        return {c.code: self.cleaned_data[f"criterion_{c.code}"] == "yes" for c in self.criteria}


class IdentityEditForm(ReasonMixin, IdentityFields):
    pass


class ConsentForm(BootstrapForm):
    form_version = forms.CharField(max_length=40, label=_("Consent form version"))
    signed_on = forms.DateField(widget=IsoDateInput, label=_("Date signed"))


class ConsentEditForm(ReasonMixin, ConsentForm):
    pass


class BaselineForm(BootstrapForm):
    height_cm = forms.DecimalField(max_digits=4, decimal_places=1, label=_("Height (cm)"))
    weight_kg = forms.DecimalField(max_digits=4, decimal_places=1, label=_("Weight (kg)"))
    previous_failed_transfers = forms.IntegerField(min_value=0, label=_("Previous failed embryo transfers"))
    prior_miscarriages = forms.IntegerField(min_value=0, label=_("Prior miscarriages"))
    infertility_type = forms.ChoiceField(choices=blank_first(InfertilityType.choices), label=_("Infertility type"))
    infertility_years = forms.DecimalField(max_digits=3, decimal_places=1, label=_("Infertility duration (years)"))
    education = forms.ChoiceField(choices=blank_first(Education.choices), label=_("Education"))
    amh_ng_ml = forms.DecimalField(max_digits=5, decimal_places=2, required=False, label=_("AMH (ng/mL, optional)"))

    def baseline(self) -> BaselineInput:
        return BaselineInput(**{name: self.cleaned_data.get(name) for name in BaselineInput.__dataclass_fields__})


class BaselineEditForm(ReasonMixin, BaselineForm):
    pass


class WithdrawForm(BootstrapForm):
    withdrawn_on = forms.DateField(widget=IsoDateInput, label=_("Date of withdrawal"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason for withdrawal"))


class VoidForm(BootstrapForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Why was this entered in error?"))


class RandomizeForm(BootstrapForm):
    confirm = forms.BooleanField(
        label=_("I have checked eligibility, consent and baseline; allocate the next slot now."),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )


class RandomizationErrorForm(BootstrapForm):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}), label=_("Why was this randomization made in error?")
    )


MAX_UPLOAD_BYTES = 2 * 1024 * 1024


def _block_sizes(value: str) -> list[int]:
    try:
        sizes = sorted({int(part) for part in value.replace(" ", "").split(",") if part})
    except ValueError as error:
        raise forms.ValidationError(_("Give block sizes as whole numbers separated by commas, e.g. 2,4.")) from error
    if not sizes or any(size < 1 or size > 20 for size in sizes):
        raise forms.ValidationError(_("Block sizes must be between 1 and 20."))
    return sizes


class StratumFields(BootstrapForm):
    site = SiteChoiceField(queryset=Site.objects.all(), empty_label=CHOOSE, label=_("Site"))
    age_group = forms.ChoiceField(choices=blank_first(AgeGroup.choices), label=_("Age group"))


class AllocationGenerateForm(StratumFields):
    """No seed field: the server draws it (a seed somebody chose can be searched for and found again)."""

    length = forms.IntegerField(min_value=2, max_value=10_000, initial=200, label=_("Slots"))
    block_sizes = forms.CharField(
        initial="2,4", label=_("Block sizes"), help_text=_("Sizes chosen at random per block, e.g. 2,4.")
    )

    def clean_block_sizes(self):
        return _block_sizes(self.cleaned_data["block_sizes"])

    def clean(self):
        # Refused rather than silently dropped, so a script that still sends one learns it was not used.
        if self.add_prefix("seed") in self.data:
            raise forms.ValidationError(_("The server draws the seed of a generated list; a seed cannot be given."))
        return super().clean()


class CsvUploadField(forms.FileField):
    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload and upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(megabytes)d MB.") % {"megabytes": MAX_UPLOAD_BYTES // 1024 // 1024}
            )
        return upload


class AllocationImportForm(StratumFields):
    file = CsvUploadField(
        label=_("File"), help_text=_("CSV with header sequence,arm and one row per slot, starting at 1.")
    )


class AllocationExtendForm(BootstrapForm):
    length = forms.IntegerField(min_value=2, max_value=100_000, required=False, label=_("New total number of slots"))
    file = CsvUploadField(required=False, label=_("File"), help_text=_("Imported lists: CSV continuing the sequence."))


class TransferForm(BootstrapForm):
    transfer_date = forms.DateField(widget=IsoDateInput, label=_("Transfer date"))
    cycle_type = forms.ChoiceField(choices=blank_first(CycleType.choices), label=_("Cycle type"))
    embryo_stage = forms.ChoiceField(choices=blank_first(EmbryoStage.choices), label=_("Embryo stage"))
    embryos_transferred = forms.IntegerField(label=_("Embryos transferred (1–3)"))


class TransferEditForm(ReasonMixin, TransferForm):
    pass


class LutealSupportForm(BootstrapForm):
    drug = forms.CharField(max_length=100, label=_("Drug"))
    route = forms.ChoiceField(choices=blank_first(Route.choices), label=_("Route"))
    daily_dose = forms.CharField(max_length=50, label=_("Daily dose"), help_text=_("Dose and unit, e.g. 90 mg"))
    start_date = forms.DateField(widget=IsoDateInput, label=_("Start date"))
    stop_date = forms.DateField(widget=IsoDateInput, required=False, label=_("Stop date"))


class DalteparinCourseForm(BootstrapForm):
    daily_dose_iu = forms.IntegerField(label=_("Daily dose (IU)"))
    start_date = forms.DateField(widget=IsoDateInput, label=_("Start date"))
    stop_date = forms.DateField(widget=IsoDateInput, required=False, label=_("Stop date"))
    missed_doses = forms.IntegerField(min_value=0, initial=0, label=_("Missed doses"))
    deviation_reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        label=_("Protocol deviation (required when the patient is not in the dalteparin arm)"),
    )
