"""What the two women of the API journey enter, and the figures the exports and statistics must give back.

Used by tests/api/test_api_journey.py: the values as sent and as the API returns them (labs in
alternative units and censored), the questionnaire answers with their hand-recoded scores, the baseline
forms, and the derived columns and event counts expected per arm (one woman per arm).
"""

from datetime import date

DATASETS = ("patients", "lab-results", "adverse-events", "questionnaires")
TRANSFER_DAYS_AGO = 280  # 40 weeks: room for an ongoing pregnancy at 12 weeks and a live birth at 38
ENROLMENT_DAYS_BEFORE_TRANSFER = 5

RAND36_SCALES = (
    "physical_functioning",
    "role_physical",
    "role_emotional",
    "energy_fatigue",
    "emotional_wellbeing",
    "social_functioning",
    "pain",
    "general_health",
)
SSRS_SUBSCALES = ("objective", "subjective", "utilization", "total")

# (analyte, time point) → (value as sent, unit, canonical value as the API returns it, flag, censoring).
# Reference ranges (labs seed): FSH 1.5–12.4, LH 1–15, E2 70–1800 pmol/L, CA125 0–35, IL6 0–7,
# β-hCG 0–5 at BASELINE only; E2 pg/mL × 3.671 = pmol/L, the other alternative units × 1.
LABS_EXP = {
    ("BHCG", "BASELINE"): ("<2", "IU/L", "2.0000", "normal", "<"),
    ("BHCG", "ET14"): ("850", "mIU/mL", "850.0000", "normal", ""),
    ("BHCG", "ET28"): (">10000", "IU/L", "10000.0000", "normal", ">"),
    ("FSH", "BASELINE"): ("6.2", "IU/L", "6.2000", "normal", ""),
    ("FSH", "ET14"): ("4.8", "mIU/mL", "4.8000", "normal", ""),
    ("FSH", "ET28"): ("1.2", "IU/L", "1.2000", "low", ""),
    ("LH", "BASELINE"): (7.5, "IU/L", "7.5000", "normal", ""),  # a JSON number
    ("LH", "ET14"): ("16.5", "IU/L", "16.5000", "high", ""),
    ("LH", "ET28"): ("3.1", "mIU/mL", "3.1000", "normal", ""),
    ("E2", "BASELINE"): ("250", "pg/mL", "917.7500", "normal", ""),
    ("E2", "ET14"): ("3500", "pmol/L", "3500.0000", "high", ""),
    ("E2", "ET28"): ("45.5", "pg/mL", "167.0305", "normal", ""),
    ("CA125", "BASELINE"): ("18.3", "U/mL", "18.3000", "normal", ""),
    ("CA125", "ET14"): ("40", "kU/L", "40.0000", "high", ""),
    ("CA125", "ET28"): ("22", "U/mL", "22.0000", "normal", ""),
    ("IL6", "BASELINE"): ("<1.5", "pg/mL", "1.5000", "normal", "<"),
    ("IL6", "ET14"): ("3.2", "ng/L", "3.2000", "normal", ""),
    ("IL6", "ET28"): ("9.8", "pg/mL", "9.8000", "high", ""),
}
LABS_CTRL = {
    ("BHCG", "BASELINE"): ("1.2", "IU/L", "1.2000", "normal", ""),
    ("BHCG", "ET14"): ("420.5", "IU/L", "420.5000", "normal", ""),
    ("BHCG", "ET28"): ("15000", "mIU/mL", "15000.0000", "normal", ""),
    ("FSH", "BASELINE"): ("5.5", "IU/L", "5.5000", "normal", ""),
    ("FSH", "ET14"): ("3.9", "IU/L", "3.9000", "normal", ""),
    ("FSH", "ET28"): ("2.0", "IU/L", "2.0000", "normal", ""),
    ("LH", "BASELINE"): (6, "IU/L", "6.0000", "normal", ""),  # a JSON integer
    ("LH", "ET14"): ("4.4", "IU/L", "4.4000", "normal", ""),
    ("LH", "ET28"): ("2.5", "IU/L", "2.5000", "normal", ""),
    ("E2", "BASELINE"): ("300", "pmol/L", "300.0000", "normal", ""),
    ("E2", "ET14"): ("800", "pg/mL", "2936.8000", "high", ""),
    ("E2", "ET28"): ("1200", "pmol/L", "1200.0000", "normal", ""),
    ("CA125", "BASELINE"): ("12", "U/mL", "12.0000", "normal", ""),
    ("CA125", "ET14"): ("25.5", "kU/L", "25.5000", "normal", ""),
    # CA125 at ET28 deliberately not drawn: an empty cell and a "missing" in the statistics.
    ("IL6", "BASELINE"): ("2.1", "pg/mL", "2.1000", "normal", ""),
    ("IL6", "ET14"): ("<1", "pg/mL", "1.0000", "normal", "<"),
    ("IL6", "ET28"): ("4", "pg/mL", "4.0000", "normal", ""),
}

# RAND-36 answers as printed on the form (1-based). Recoding by hand (RAND scoring instructions):
# PF (0+50+8×100)/10 = 85; RP (0+3×100)/4 = 75; RE 200/3; EF (80+60+80+60)/4 = 70;
# EWB (80+80+80+60+60)/5 = 72; SF (75+75)/2 = 75; pain (80+75)/2 = 77.5; GH 5×75/5 = 75.
RAND36_MIXED = {
    **{"1": 2, "2": 3, "3": 1, "4": 2},
    **{str(k): 3 for k in range(5, 13)},
    **{"13": 1, "14": 2, "15": 2, "16": 2, "17": 1, "18": 2, "19": 2, "20": 2, "21": 2, "22": 2},
    **{"23": 2, "24": 5, "25": 5, "26": 2, "27": 3, "28": 4, "29": 5, "30": 3, "31": 4},
    **{"32": 4, "33": 4, "34": 2, "35": 4, "36": 2},
}
RAND36_MIXED_SCORES = {
    "physical_functioning": 85.0,
    "role_physical": 75.0,
    "role_emotional": 200 / 3,
    "energy_fatigue": 70.0,
    "emotional_wellbeing": 72.0,
    "social_functioning": 75.0,
    "pain": 77.5,
    "general_health": 75.0,
}
# The best answer to every item (every scale 100) and the worst (every scale 0): recoding directions.
RAND36_BEST = {
    **{"1": 1, "2": 1},
    **{str(k): 3 for k in range(3, 13)},
    **{str(k): 2 for k in range(13, 20)},
    **{"20": 1, "21": 1, "22": 1, "23": 1, "24": 6, "25": 6, "26": 1, "27": 1, "28": 6, "29": 6, "30": 1},
    **{"31": 6, "32": 5, "33": 5, "34": 1, "35": 5, "36": 1},
}
RAND36_WORST = {
    **{"1": 5, "2": 5},
    **{str(k): 1 for k in range(3, 20)},
    **{"20": 5, "21": 6, "22": 5, "23": 6, "24": 1, "25": 1, "26": 6, "27": 6, "28": 1, "29": 1, "30": 6},
    **{"31": 1, "32": 1, "33": 1, "34": 5, "35": 1, "36": 5},
}
# SSRS (SPEC §7 keys; "6" and "7" count sources, 0 = none). Objective 2+6+7, subjective 1+3+4+5a–e,
# utilization 8+9+10, total all: 4+3+2 = 9, 3+2+3+12 = 20, 2+3+1 = 6, 35.
SSRS_EXP_BASELINE = {"1": "3", "2": "4", "3": "2", "4": "3", "5a": "4", "5b": "3", "5c": "1", "5d": "2", "5e": "2"}
SSRS_EXP_BASELINE |= {"6": "3", "7": "2", "8": "2", "9": "3", "10": "1"}
SSRS_EXP_BASELINE_SCORES = {"objective": 9.0, "subjective": 20.0, "utilization": 6.0, "total": 35.0}
SSRS_EXP_ET28 = {"1": 4, "2": 4, "3": 3, "4": 3, "5a": 4, "5b": 4, "5c": 2, "5d": 3, "5e": 2}
SSRS_EXP_ET28 |= {"6": 5, "7": 4, "8": 3, "9": 4, "10": 2}
SSRS_EXP_ET28_SCORES = {"objective": 13.0, "subjective": 25.0, "utilization": 9.0, "total": 47.0}
SSRS_CTRL_BASELINE = {key: 1 for key in ("1", "2", "3", "4", "5a", "5b", "5c", "5d", "5e", "8", "9", "10")}
SSRS_CTRL_BASELINE |= {"6": 0, "7": 0}
SSRS_CTRL_BASELINE_SCORES = {"objective": 1.0, "subjective": 8.0, "utilization": 3.0, "total": 12.0}
BASELINE_EXP = {
    "height_cm": "162.0",
    "weight_kg": "58.5",
    "previous_failed_transfers": 3,
    "prior_miscarriages": 1,
    "infertility_type": "primary",
    "infertility_years": "4.5",
    "education": "college_or_higher",
    "amh_ng_ml": "1.85",
}
BASELINE_CTRL = {
    "height_cm": "158.5",
    "weight_kg": "63.2",
    "previous_failed_transfers": 2,
    "prior_miscarriages": 0,
    "infertility_type": "secondary",
    "infertility_years": "2.0",
    "education": "high_school_or_vocational",
}
# Derived columns of the `patients` export, by arm (one woman per arm).
DERIVED = {
    "EXP": {
        "per_protocol": 0,  # EXP without a dalteparin course: SPEC §7 has no endpoint to record one
        "biochemical_pregnancy": 1,
        "clinical_pregnancy": 1,
        "gestational_sacs": 2,
        "miscarriage": 0,
        "ongoing_pregnancy": 1,
        "live_birth": 1,
        "any_adverse_event": 1,
        "serious_adverse_event": 0,
    },
    "CTRL": {
        "per_protocol": 1,
        "biochemical_pregnancy": 1,
        "clinical_pregnancy": 1,
        "gestational_sacs": 1,
        "miscarriage": 1,
        "ongoing_pregnancy": 0,
        "live_birth": 0,
        "any_adverse_event": 1,
        "serious_adverse_event": 1,
    },
}
EXPECTED_EVENTS = {  # binary statistic → ((EXP events, n), (CTRL events, n))
    "clinical_pregnancy": ((1, 1), (1, 1)),
    "implantation": ((2, 2), (1, 2)),  # sacs / embryos transferred
    "miscarriage": ((0, 1), (1, 1)),  # per clinical pregnancy
    "biochemical_pregnancy": ((1, 1), (1, 1)),
    "ongoing_pregnancy": ((1, 1), (0, 1)),
    "live_birth": ((1, 1), (0, 1)),
    "any_adverse_event": ((1, 1), (1, 1)),
    "serious_adverse_event": ((0, 1), (1, 1)),
}
INSTRUMENT_SCALES = (("RAND36", RAND36_SCALES), ("SSRS", SSRS_SUBSCALES))


def _identities(enrolled_on: date) -> list[dict]:
    """Two women of the <35 stratum who will be randomized, and one who will be excluded."""
    return [
        {
            "full_name": "Lin Meihua Journey",
            "medical_record_number": "JRN-MRN-58213",
            "phone": "+86 138 0013 5821",
            "date_of_birth": date(enrolled_on.year - 30, 2, 14).isoformat(),
        },
        {
            "full_name": "Zhao Xiaoyan Journey",
            "medical_record_number": "JRN-MRN-77046",
            "phone": "+86 139 0027 7046",
            "date_of_birth": date(enrolled_on.year - 33, 9, 3).isoformat(),
        },
        {
            "full_name": "Qian Ruolan Journey",
            "medical_record_number": "JRN-MRN-90417",
            "phone": "+86 137 0041 9041",
            "date_of_birth": date(enrolled_on.year - 27, 6, 21).isoformat(),
        },
    ]
