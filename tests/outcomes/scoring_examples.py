"""The hand-worked answer sets the scoring tests share: a mixed RAND-36 respondent with her scale scores, and
an SSRS respondent (objective 9, subjective 22, utilization 8, total 39).

Expected values are worked by hand from the RAND 36-Item Health Survey 1.0 scoring instructions and Xiao's SSRS
scoring rules, never computed with the code under test.
"""

# A realistic mixed respondent; recoded values in the comments.
RAND_MIXED = {
    "1": 3,  # Good → 50
    "2": 3,  # About the same (no scale)
    # physical functioning: 0 + 50 + 100 + 50 + 100 + 100 + 50 + 100 + 100 + 100 = 750 / 10 = 75.0
    "3": 1,  # vigorous: limited a lot → 0
    "4": 2,  # moderate: limited a little → 50
    "5": 3,  # groceries → 100
    "6": 2,  # several flights → 50
    "7": 3,  # one flight → 100
    "8": 3,  # bending → 100
    "9": 2,  # more than a mile → 50
    "10": 3,  # several blocks → 100
    "11": 3,  # one block → 100
    "12": 3,  # bathing → 100
    # role physical: 0 + 0 + 100 + 100 = 200 / 4 = 50.0
    "13": 1,  # Yes → 0
    "14": 1,  # Yes → 0
    "15": 2,  # No → 100
    "16": 2,  # No → 100
    # role emotional: 100 + 0 + 100 = 200 / 3 = 66.67
    "17": 2,  # No → 100
    "18": 1,  # Yes → 0
    "19": 2,  # No → 100
    # social functioning: (75 + 50) / 2 = 62.5
    "20": 2,  # Slightly → 75
    "32": 3,  # Some of the time → 50
    # pain: (60 + 75) / 2 = 67.5
    "21": 3,  # Mild → 60
    "22": 2,  # A little bit → 75
    # energy/fatigue: (40 + 60 + 80 + 60) = 240 / 4 = 60.0
    "23": 4,  # pep: some of the time → 40
    "27": 3,  # energy: a good bit of the time → 60
    "29": 5,  # worn out: a little of the time → 80
    "31": 4,  # tired: some of the time → 60
    # emotional well-being: (80 + 100 + 80 + 80 + 60) = 400 / 5 = 80.0
    "24": 5,  # nervous: a little of the time → 80
    "25": 6,  # down in the dumps: none of the time → 100
    "26": 2,  # calm: most of the time → 80
    "28": 5,  # downhearted: a little of the time → 80
    "30": 3,  # happy: a good bit of the time → 60
    # general health: (50 + 75 + 75 + 50 + 50) = 300 / 5 = 60.0
    "33": 4,  # sick easier: mostly false → 75
    "34": 2,  # as healthy as anybody: mostly true → 75
    "35": 3,  # expect worse: don't know → 50
    "36": 3,  # excellent: don't know → 50
}

RAND_MIXED_EXPECTED = {
    "physical_functioning": 75.0,
    "role_physical": 50.0,
    "role_emotional": 200 / 3,
    "energy_fatigue": 60.0,
    "emotional_wellbeing": 80.0,
    "social_functioning": 62.5,
    "pain": 67.5,
    "general_health": 60.0,
}


# objective = 4 + 3 + 2 = 9; subjective = 3 + 3 + 2 + (4 + 4 + 3 + 2 + 1 = 14) = 22; utilization = 3 + 3 + 2 = 8;
# total = 9 + 22 + 8 = 39
SSRS_WORKED = {
    "1": 3,  # three to five close friends
    "2": 4,  # lived with family
    "3": 3,  # some neighbours care
    "4": 2,  # colleagues might care a little
    "5a": 4,  # spouse: full support
    "5b": 4,  # parents: full support
    "5c": 3,  # children: some
    "5d": 2,  # siblings: little
    "5e": 1,  # other family: none
    "6": 3,  # three sources of practical help
    "7": 2,  # two sources of comfort
    "8": 3,  # talks if friends ask
    "9": 3,  # sometimes asks for help
    "10": 2,  # occasionally takes part
}
