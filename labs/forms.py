from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from core.forms import CHOOSE, BootstrapForm, IsoDateTimeInput, blank_first
from core.models import Timepoint
from labs.models import Analyte

MAX_IMPORT_BYTES = 20 * 1024 * 1024


class TimepointChoiceField(forms.ModelChoiceField):
    """Time points by their label (configuration: the seeded labels are in the catalogue, core.terms)."""

    def label_from_instance(self, obj):
        return gettext(obj.label)


class LabDrawForm(BootstrapForm):
    """One draw: time point, when, and each analyte's value with its unit (blank = not measured).

    No unit is chosen for the user: a value typed under a preselected pmol/L that the report gave in pg/mL
    would be stored 3.7 times too low without a warning. A value needs its unit chosen.
    """

    timepoint = TimepointChoiceField(
        queryset=Timepoint.objects.all(), to_field_name="code", empty_label=CHOOSE, label=_("Time point")
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
                choices=blank_first(units),
                required=False,
                label=gettext("%(analyte)s unit") % {"analyte": analyte.code},
                widget=forms.Select(attrs={"class": "form-select"}),
            )

    def clean(self):
        data = super().clean()
        for analyte in self.analytes:
            value, unit = f"{analyte.code}_value", f"{analyte.code}_unit"
            if (data.get(value) or "").strip() and not data.get(unit):
                self.add_error(unit, gettext("Choose the unit of this %(analyte)s value.") % {"analyte": analyte.code})
        return data

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
        self.fields["unit"].choices = blank_first((u, u) for u in analyte.accepted_units)


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
