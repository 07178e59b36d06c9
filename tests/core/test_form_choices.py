"""No form answers for the user (issue 20): every select of a new form starts on an empty "Choose…" option and
no radio is checked, in English and in Chinese; a required choice left empty is refused beside its field and
nothing is saved; the screening date starts at today in the site's time zone.

The forms are found as tests/core/test_iso_date_inputs.py finds them, from the page rule table
(tests/core/page_world.py): every data-entry page must be listed here as a new form or as a correction."""

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from html.parser import HTMLParser
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import Site
from labs.models import LabDraw
from outcomes.models import AdverseEvent, PregnancyOutcome
from patients.models import Baseline, EmbryoTransfer, LutealSupport, Patient
from tests.core.page_world import ENTRY_A, PAGES, request_in_savepoint
from tests.module_data import module_data

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class FormWorld:
    """Site SZ with a patient at each step, so each form is opened new: nothing recorded on it yet."""

    users: dict
    site: int
    screened: str  # eligible, not consented
    consented: str  # no baseline
    randomized: str  # no transfer, no treatment, labs, events or questionnaires
    transferred: str  # a transfer, no outcome


def build_form_world() -> FormWorld:
    from tests import factories as f

    site = f.site("SZ")
    staff = f.make_user("staff_a", "site_staff", site)
    statistician = f.make_user("statistician", "statistician")
    randomized = f.randomized_patient(site, staff, statistician)
    return FormWorld(
        users={"staff": staff, "statistician": statistician},
        site=site.pk,
        screened=f.screen(site, staff).study_id,
        consented=f.consented_patient(site, staff).study_id,
        randomized=randomized.study_id,
        transferred=f.with_transfer(f.randomized_patient(site, staff, statistician), staff).study_id,
    )


world = module_data(build_form_world)


def _patient(key: str, **more):
    return lambda w: {"study_id": getattr(w, key), **more}


# URL name → (who opens it, its URL arguments) for every form that records something new.
NEW_FORMS = {
    "patients:screen": ("staff", lambda w: {}),
    "patients:consent": ("staff", _patient("screened")),
    "patients:void": ("staff", _patient("screened")),
    "patients:baseline": ("staff", _patient("consented")),
    "patients:consent_void": ("staff", _patient("consented")),
    "casebook:randomize": ("staff", _patient("consented")),
    "patients:transfer": ("staff", _patient("randomized")),
    "patients:luteal_support": ("staff", _patient("randomized")),
    "patients:dalteparin": ("staff", _patient("randomized")),
    "patients:withdraw": ("staff", _patient("randomized")),
    "labs:draw_create": ("staff", _patient("randomized")),
    "labs:import": ("staff", lambda w: {}),
    "outcomes:ae_create": ("staff", _patient("randomized")),
    "outcomes:questionnaire": ("staff", _patient("randomized", instrument="RAND36", timepoint="BASELINE")),
    "outcomes:pregnancy": ("staff", _patient("transferred")),
    "allocation:overview": ("statistician", lambda w: {}),  # generate and import a list: site, age group
}
# Pages that only correct what is stored, so their choices show the stored answers; voiding a baseline
# needs one.
CORRECTIONS = {"patients:identity", "labs:result_correct", "outcomes:ae_edit", "patients:baseline_void"}


class _Choices(HTMLParser):
    """What the page's own POST forms (not the language switcher) have chosen: selected options with a
    value, checked radios and checkboxes."""

    def __init__(self):
        super().__init__()
        self.chosen, self.blank_first, self._form, self._select, self._first = [], [], False, None, False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._form = (a.get("method") or "").lower() == "post" and not a.get("action")
        elif self._form and tag == "select":
            self._select, self._first = a.get("name"), True
        elif self._form and tag == "option" and self._select:
            if self._first:
                self.blank_first.append((self._select, a.get("value")))
                self._first = False
            if "selected" in a and a.get("value"):
                self.chosen.append(f"{self._select}={a['value']}")
        elif self._form and tag == "input" and a.get("type") in ("radio", "checkbox") and "checked" in a:
            self.chosen.append(f"{a.get('name')}={a.get('value')}")

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = False
        elif tag == "select":
            self._select = None


def choices_of(html: str) -> _Choices:
    parser = _Choices()
    parser.feed(html)
    return parser


def test_the_reader_finds_preselected_choices():
    html = (
        '<form method="post"><select name="a"><option value="x" selected>X</option></select>'
        '<input type="radio" name="r" value="yes" checked></form>'
        '<form method="post" action="/i18n/setlang/"><select name="language"><option value="en" selected>'
        "</option></select></form>"
    )
    found = choices_of(html)
    assert (found.chosen, found.blank_first) == (["a=x", "r=yes"], [("a", "x")])


def test_every_data_entry_page_is_listed_as_new_or_as_a_correction():
    data_entry = {name for name, page in PAGES.items() if page.post == ENTRY_A}
    assert data_entry <= set(NEW_FORMS) | CORRECTIONS


def _get(world, name: str, language: str, client) -> str:
    role, kwargs = NEW_FORMS[name]
    client.force_login(world.users[role])
    client.cookies["django_language"] = language
    response = request_in_savepoint(client, "get", reverse(name, kwargs=kwargs(world)))
    assert response.status_code == 200, name
    return response.content.decode()


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("name", sorted(NEW_FORMS))
def test_a_new_form_chooses_nothing(world, client, name, language):
    found = choices_of(_get(world, name, language, client))
    assert found.chosen == []
    assert all(value == "" for _select, value in found.blank_first), found.blank_first


def test_the_forms_with_choices_were_read(world, client):
    """The parser saw the selects and radios these forms have (an empty result proves nothing otherwise)."""
    html = _get(world, "outcomes:ae_create", "en", client)
    selects = {select for select, _value in choices_of(html).blank_first}
    assert selects == {"term", "grade", "related_to_dalteparin", "action_taken", "outcome"}
    outcome = _get(world, "outcomes:pregnancy", "en", client)
    assert outcome.count('type="radio"') == 17  # four yes/no questions, three with "not known yet" too
    assert 'value="unknown"' in outcome


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Pacific/Pago_Pago"])  # UTC+14 and UTC−11: never one date
def test_the_screening_date_starts_at_today_in_the_sites_time_zone(world, client, zone):
    Site.objects.filter(pk=world.site).update(time_zone=zone)
    html = _get(world, "patients:screen", "zh-hans", client)
    today = datetime.now(ZoneInfo(zone)).date()
    assert re.search(rf'<input type="date" name="screening_date" value="{today:%Y-%m-%d}"', html), today


def _draw_at() -> str:
    return timezone.localtime(timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")


def _screening(w) -> dict:
    from core.models import EligibilityCriterion

    answers = {
        f"criterion_{c.code}": "yes" if c.kind == "inclusion" else "no" for c in EligibilityCriterion.objects.all()
    }
    identity = {"full_name": "Choice Test", "medical_record_number": "MRN-CHOICE", "date_of_birth": "1992-03-15"}
    return {"site": w.site, "screening_date": timezone.localdate().isoformat(), **identity, **answers}


_BASELINE = {
    "height_cm": "160",
    "weight_kg": "56",
    "previous_failed_transfers": "2",
    "prior_miscarriages": "1",
    "infertility_type": "primary",
    "infertility_years": "3.5",
    "education": "college_or_higher",
}
_AE = {
    "term": "bleeding",
    "onset_date": (timezone.localdate() - timedelta(days=1)).isoformat(),
    "grade": "1",
    "related_to_dalteparin": "possible",
    "action_taken": "none",
    "outcome": "recovered",
}
_TODAY = timezone.localdate().isoformat()
# URL name, patient, complete post, the choice left out, the model that must stay empty for her.
REFUSED = [
    ("patients:screen", None, _screening, "site", Patient),
    ("patients:screen", None, _screening, "criterion_NORMAL_CAVITY", Patient),
    ("patients:baseline", "consented", lambda w: _BASELINE, "infertility_type", Baseline),
    ("patients:baseline", "consented", lambda w: _BASELINE, "education", Baseline),
    (
        "patients:transfer",
        "randomized",
        lambda w: {
            "transfer_date": _TODAY,
            "cycle_type": "fresh",
            "embryo_stage": "blastocyst",
            "embryos_transferred": 2,
        },
        "embryo_stage",
        EmbryoTransfer,
    ),
    (
        "patients:luteal_support",
        "randomized",
        lambda w: {"drug": "Progesterone", "route": "vaginal", "daily_dose": "90 mg", "start_date": _TODAY},
        "route",
        LutealSupport,
    ),
    ("outcomes:ae_create", "randomized", lambda w: _AE, "term", AdverseEvent),
    ("outcomes:ae_create", "randomized", lambda w: _AE, "grade", AdverseEvent),
    ("outcomes:ae_create", "randomized", lambda w: _AE, "related_to_dalteparin", AdverseEvent),
    (
        "outcomes:pregnancy",
        "transferred",
        lambda w: {
            "beta_hcg_positive": "False",
            "clinical_pregnancy": "False",
            "ectopic": "False",
            "miscarriage": "False",
        },
        "beta_hcg_positive",
        PregnancyOutcome,
    ),
    (
        "labs:draw_create",
        "randomized",
        lambda w: {"timepoint": "BASELINE", "drawn_at": _draw_at(), "E2_value": "50", "E2_unit": "pmol/L"},
        "E2_unit",
        LabDraw,
    ),
    (
        "labs:draw_create",
        "randomized",
        lambda w: {"timepoint": "BASELINE", "drawn_at": _draw_at(), "E2_value": "50", "E2_unit": "pmol/L"},
        "timepoint",
        LabDraw,
    ),
]
REQUIRED = {"en": "This field is required.", "zh-hans": "这个字段是必填项。"}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize(("name", "patient", "post", "left_out", "model"), REFUSED)
def test_a_required_choice_left_empty_is_refused_and_nothing_is_saved(
    world, client, name, patient, post, left_out, model, language
):
    client.force_login(world.users["staff"])
    client.cookies["django_language"] = language
    url = reverse(name, kwargs={"study_id": getattr(world, patient)} if patient else {})
    before = model.objects.count()
    response = client.post(url, post(world) | {left_out: ""})  # in the test's savepoint: its writes stay visible
    assert response.status_code == 200
    field_error = rf'<div class="invalid-feedback d-block" data-field="{left_out}">([^<]*)</div>'
    errors = re.findall(field_error, response.content.decode())
    if left_out == "E2_unit":  # a value needs its unit: not every unit is required
        assert errors and "E2" in errors[0]
    else:
        assert errors == [REQUIRED[language]]
    assert model.objects.count() == before


def test_a_correction_shows_a_stored_not_known_yet_as_that_answer(world, client):
    from outcomes.services import outcome_record

    patient = Patient.objects.get(study_id=world.transferred)
    outcome_record(patient=patient, data={"beta_hcg_positive": False}, by=world.users["staff"])
    found = choices_of(_get(world, "outcomes:pregnancy", "en", client))
    assert {"ongoing_pregnancy=unknown", "live_birth=unknown", "beta_hcg_positive=False"} <= set(found.chosen)
