from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import BootstrapForm, IsoDateTimeInput
from core.models import Timepoint
from labs.models import Analyte

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class LabDrawForm(BootstrapForm):
    """One draw: time point, when, and each analyte's value with its unit (blank = not measured)."""

    timepoint = forms.ModelChoiceField(
        queryset=Timepoint.objects.all(), to_field_name="code", empty_label=None, label=_("Time point")
    )
    drawn_at = forms.DateTimeField(widget=IsoDateTimeInput, label=_("Drawn at"))

    def __init__(self, *args, **kwargs):
        self.analytes = list(Analyte.objects.all())
        super().__init__(*args, **kwargs)
        for analyte in self.analytes:
            self.fields[f"{analyte.code}_value"] = forms.CharField(
                required=False,
                # The analyte's name is configuration: the seeded names are in the catalogue (core.terms).
                label=f"{gettext(analyte.name)} ({analyte.code})",
                widget=forms.TextInput(attrs={"class": "form-control"}),
            )
            units = [
                (unit, unit)
                for unit in [analyte.canonical_unit, *sorted(set(analyte.accepted_units) - {analyte.canonical_unit})]
            ]
            self.fields[f"{analyte.code}_unit"] = forms.ChoiceField(
                choices=units,
                initial=analyte.canonical_unit,
                label=gettext("%(analyte)s unit") % {"analyte": analyte.code},
                widget=forms.Select(attrs={"class": "form-select"}),
            )

    def analyte_rows(self):
        return [(a, self[f"{a.code}_value"], self[f"{a.code}_unit"]) for a in self.analytes]

    def entries(self) -> list[tuple[str, str, str]]:
        data = self.cleaned_data
        return [
            (a.code, data[f"{a.code}_value"], data[f"{a.code}_unit"])
            for a in self.analytes
            if data.get(f"{a.code}_value", "").strip()
        ]


class LabResultCorrectForm(BootstrapForm):
    value = forms.CharField(label=_("Value"), help_text=_("A number, or <limit / >limit for a censored value"))
    unit = forms.ChoiceField(choices=(), label=_("Unit"))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))
    version = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, analyte, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].choices = [(u, u) for u in analyte.accepted_units]


class LabImportForm(BootstrapForm):
    file = forms.FileField(label=_("File"), help_text=_("CSV: study_id,timepoint,drawn_at,analyte,value,unit (UTF-8)"))
    reason = forms.CharField(
        required=False,
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Needed only when the file changes values already stored."),
    )
    skip_invalid = forms.BooleanField(
        required=False,
        label=_("Import the good rows even if some rows are bad"),
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_IMPORT_BYTES:
            raise forms.ValidationError(
                gettext("The file is larger than %(megabytes)d MB; split it.")
                % {"megabytes": MAX_IMPORT_BYTES // 1024 // 1024}
            )
        return upload
