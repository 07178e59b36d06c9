"""Browser journey of outcomes: a twin pregnancy after one embryo needs confirmation; a RAND-36 is scored."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from core.audit import audited
from outcomes.models import PregnancyOutcome, QuestionnaireResponse
from patients.models import EmbryoTransfer, Randomization
from tests.browser.helpers import log_in
from tests.factories import randomized_patient, with_transfer

SACS_WARNING = "2 sacs but 1 embryo transferred: confirm (e.g. monozygotic twins) or correct."
CONFIRM_SACS_LABEL = "I confirm more gestational sacs than embryos transferred (e.g. monozygotic twins)"

# RAND-36 items answered (option numbers as printed, 1-based): physical functioning 3–12 and pain 21–22.
NOT_LIMITED, LIMITED_A_LITTLE = 3, 2
PF_ANSWERS = {**dict.fromkeys(range(3, 8), NOT_LIMITED), **dict.fromkeys(range(8, 13), LIMITED_A_LITTLE)}
PAIN_ANSWERS = {21: 2, 22: 1}  # "Very mild" → 80, "Not at all" → 100
ANSWERS = {**PF_ANSWERS, **PAIN_ANSWERS}
BASELINE = "Baseline (ET day, before the first dose)"  # the time point's label
OPTION_LABELS = {
    **{key: {3: "No, not limited at all", 2: "Yes, limited a little"}[value] for key, value in PF_ANSWERS.items()},
    21: "Very mild",
    22: "Not at all",
}


def _yes_no(page: Page, legend: str, answer: str) -> None:
    page.get_by_role("group", name=legend, exact=True).get_by_label(answer, exact=True).check()


def _fill_outcome(page: Page, *, beta_hcg_date, ultrasound_date) -> None:
    _yes_no(page, "β-hCG positive", "Yes")
    page.get_by_label("β-hCG date").fill(beta_hcg_date.isoformat())
    page.get_by_label("β-hCG value (IU/L)").fill("850")
    _yes_no(page, "Clinical pregnancy (sac on ultrasound)", "Yes")
    page.get_by_label("Ultrasound date").fill(ultrasound_date.isoformat())
    page.get_by_label("Gestational sacs", exact=True).fill("2")
    _yes_no(page, "Fetal heartbeat", "Yes")
    _yes_no(page, "Ectopic pregnancy", "No")
    _yes_no(page, "Miscarriage", "No")


def _answer_items(page: Page) -> None:
    for key, value in ANSWERS.items():
        # Django numbers radio ids from 0 in option order; options are numbered from 1.
        option = page.locator(f"#id_item_{key}_{value - 1}")
        expect(option).to_have_attribute("value", str(value))
        expect(page.locator(f'[data-item="{key}"]').get_by_label(OPTION_LABELS[key], exact=True)).to_have_attribute(
            "id", f"id_item_{key}_{value - 1}"
        )
        option.check()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_staff_records_a_twin_pregnancy_and_a_questionnaire_and_sees_the_scores(
    timely_page: Page, live_server, site_a, staff_site_a, statistician
):
    page = timely_page
    base_url = live_server.url
    today = timezone.localdate()
    patient = with_transfer(randomized_patient(site_a, staff_site_a, statistician), staff_site_a, embryos=1)
    study_id = patient.study_id

    # Randomization and transfer happen "now" in the factories: back-date them so that β-hCG at ET+14 and
    # the ultrasound at ET+28 lie in the past.
    transfer_date = today - timedelta(days=35)
    with audited(by=staff_site_a, reason="test setup: back-date"):
        Randomization.objects.filter(patient=patient).update(randomized_at=timezone.now() - timedelta(days=40))
        EmbryoTransfer.objects.filter(patient=patient, voided_at__isnull=True).update(transfer_date=transfer_date)
    beta_hcg_date = transfer_date + timedelta(days=14)
    ultrasound_date = transfer_date + timedelta(days=28)

    log_in(page, base_url, staff_site_a.username)
    page.goto(f"{base_url}/patients/{study_id}/")
    expect(page.locator("#transfer-summary")).to_contain_text(f"Embryo transfer {transfer_date:%Y-%m-%d}")
    expect(page.locator("#transfer-summary")).to_contain_text("1 embryo.")
    expect(page.locator("#outcome-card")).to_contain_text("Not recorded yet.")
    page.locator("#outcome-card").get_by_role("link", name="Record outcome").click()
    expect(page).to_have_url(re.compile(rf"/{study_id}/pregnancy/$"))

    # Two sacs after one embryo: refused until confirmed, with the warning beside gestational sacs.
    _fill_outcome(page, beta_hcg_date=beta_hcg_date, ultrasound_date=ultrasound_date)
    expect(page.get_by_label(CONFIRM_SACS_LABEL)).not_to_be_checked()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/{study_id}/pregnancy/$"))
    expect(page.locator('.invalid-feedback[data-field="gestational_sacs"]')).to_have_text(SACS_WARNING)
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    expect(page.get_by_label("Gestational sacs", exact=True)).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.get_by_label("Gestational sacs", exact=True)).to_have_value("2")
    expect(page.get_by_label("β-hCG value (IU/L)")).to_have_value("850")
    expect(page.get_by_label("Ultrasound date")).to_have_value(ultrasound_date.isoformat())
    assert not PregnancyOutcome.objects.filter(patient=patient).exists()

    # Confirmed (monozygotic twins) and saved.
    page.get_by_label(CONFIRM_SACS_LABEL).check()
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/patients/{study_id}/$"))
    expect(page.get_by_role("alert").filter(has_text="Pregnancy outcome saved.")).to_have_count(1)
    summary = page.locator("#outcome-summary")
    expect(summary.locator('[data-field="beta_hcg_positive"]')).to_have_text(
        f"positive (850.00 IU/L, {beta_hcg_date:%Y-%m-%d})"
    )
    expect(summary.locator('[data-field="clinical_pregnancy"]')).to_have_text("yes: 2 sacs, heartbeat yes")
    expect(summary).to_contain_text("More sacs than embryos transferred: confirmed.")
    expect(summary.locator('[data-field="miscarriage"]')).to_have_text("no")
    expect(page.locator("#outcome-card").get_by_role("link", name="Correct pregnancy outcome")).to_be_visible()

    outcome = PregnancyOutcome.objects.get(patient=patient, voided_at__isnull=True)
    assert outcome.beta_hcg_positive is True
    assert (outcome.beta_hcg_date, outcome.beta_hcg_value) == (beta_hcg_date, Decimal("850"))
    assert (outcome.clinical_pregnancy, outcome.ultrasound_date) == (True, ultrasound_date)
    assert (outcome.gestational_sacs, outcome.fetal_heartbeat) == (2, True)
    assert (outcome.ectopic, outcome.miscarriage) == (False, False)
    assert outcome.sacs_exceed_embryos_confirmed is True

    # The RAND-36 at baseline, from the questionnaire card.
    expect(page.locator("#questionnaire-card")).to_contain_text("None entered.")
    page.locator("#questionnaire-card").get_by_role("link", name=f"RAND36 · {BASELINE}", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/{study_id}/questionnaires/RAND36/BASELINE/$"))
    form = page.locator("#questionnaire-form")

    # A completion date in the future is refused with its reason, and nothing is saved.
    tomorrow = today + timedelta(days=1)
    page.get_by_label("Completed on").fill(tomorrow.isoformat())
    _answer_items(page)
    form.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/{study_id}/questionnaires/RAND36/BASELINE/$"))
    expect(page.locator("#id_completed_on + .invalid-feedback")).to_have_text(
        "The completion date cannot be in the future."
    )
    expect(form.locator(".invalid-feedback")).to_have_count(1)
    expect(page.get_by_label("Completed on")).to_have_value(tomorrow.isoformat())
    for key, value in ANSWERS.items():
        expect(page.locator(f"#id_item_{key}_{value - 1}")).to_be_checked()
    assert not QuestionnaireResponse.objects.filter(patient=patient).exists()

    # Corrected to yesterday (after consent on 2025-03-02) and saved: scores shown on her page.
    yesterday = today - timedelta(days=1)
    page.get_by_label("Completed on").fill(yesterday.isoformat())
    form.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(rf"/patients/{study_id}/$"))
    expect(page.get_by_role("alert").filter(has_text=f"RAND36 at {BASELINE} saved.")).to_have_count(1)
    card = page.locator('#questionnaire-card [data-questionnaire="RAND36-BASELINE"]')
    expect(card).to_contain_text(f"RAND36 · {BASELINE} ({yesterday:%Y-%m-%d})")
    expect(card.locator('[data-score="physical_functioning"]')).to_have_text("Physical functioning: 75")
    expect(card.locator('[data-score="pain"]')).to_have_text("Pain: 90")
    unanswered = {
        "role_physical": "Role limitations due to physical health",
        "role_emotional": "Role limitations due to emotional problems",
        "energy_fatigue": "Energy/fatigue",
        "emotional_wellbeing": "Emotional well-being",
        "social_functioning": "Social functioning",
        "general_health": "General health",
    }
    for key, label in unanswered.items():
        expect(card.locator(f'[data-score="{key}"]')).to_have_text(f"{label}: —")

    response = QuestionnaireResponse.objects.get(patient=patient, voided_at__isnull=True)
    assert response.completed_on == yesterday
    assert response.answers == {str(key): value for key, value in ANSWERS.items()}
    assert response.scores["physical_functioning"] == 75.0
    assert response.scores["pain"] == 90.0
    assert response.scores["role_emotional"] is None
