"""The questionnaires as data: RAND-36 and SSRS items, stems and response options. Pure: no Django.

English master text in one place; translations come later through Django i18n. Option values are the
numbers printed on the forms (1-based); SSRS items 6 and 7 are counts of sources ticked (0 = no source).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    value: int
    label: str


@dataclass(frozen=True)
class Item:
    key: str  # answer key: RAND-36 "1".."36"; SSRS "1".."4", "5a".."5e", "6".."10"
    text: str
    options: tuple[Option, ...] = ()  # empty for count items
    count_range: tuple[int, int] | None = None  # SSRS 6 and 7: number of sources ticked, 0 = no source
    heading: str = ""  # shared stem printed above a group of items


def _options(*labels: str) -> tuple[Option, ...]:
    return tuple(Option(number, label) for number, label in enumerate(labels, start=1))


def _group(heading: str, first: int, texts: tuple[str, ...], options: tuple[Option, ...]) -> tuple[Item, ...]:
    return tuple(Item(str(key), text, options, heading=heading) for key, text in enumerate(texts, start=first))


# --- RAND 36-Item Health Survey 1.0 (public domain, RAND Corporation) ---

_LIMITED = _options("Yes, limited a lot", "Yes, limited a little", "No, not limited at all")
_YES_NO = _options("Yes", "No")
_TIME_6 = _options(
    "All of the time",
    "Most of the time",
    "A good bit of the time",
    "Some of the time",
    "A little of the time",
    "None of the time",
)
_TRUE_FALSE = _options("Definitely true", "Mostly true", "Don't know", "Mostly false", "Definitely false")

_ACTIVITIES = (
    "The following items are about activities you might do during a typical day. "
    "Does your health now limit you in these activities? If so, how much?"
)
_PHYSICAL_ROLE = (
    "During the past 4 weeks, have you had any of the following problems with your work or other regular "
    "daily activities as a result of your physical health?"
)
_EMOTIONAL_ROLE = (
    "During the past 4 weeks, have you had any of the following problems with your work or other regular "
    "daily activities as a result of any emotional problems (such as feeling depressed or anxious)?"
)
_FEELINGS = (
    "These questions are about how you feel and how things have been with you during the past 4 weeks. "
    "For each question, please give the one answer that comes closest to the way you have been feeling. "
    "How much of the time during the past 4 weeks…"
)
_TRUE_OR_FALSE = "How TRUE or FALSE is each of the following statements for you?"

RAND36_ITEMS: tuple[Item, ...] = (
    Item("1", "In general, would you say your health is:", _options("Excellent", "Very good", "Good", "Fair", "Poor")),
    Item(
        "2",
        "Compared to one year ago, how would you rate your health in general now?",
        _options(
            "Much better now than one year ago",
            "Somewhat better now than one year ago",
            "About the same",
            "Somewhat worse now than one year ago",
            "Much worse now than one year ago",
        ),
    ),
    *_group(
        _ACTIVITIES,
        3,
        (
            "Vigorous activities, such as running, lifting heavy objects, participating in strenuous sports",
            "Moderate activities, such as moving a table, pushing a vacuum cleaner, bowling, or playing golf",
            "Lifting or carrying groceries",
            "Climbing several flights of stairs",
            "Climbing one flight of stairs",
            "Bending, kneeling, or stooping",
            "Walking more than a mile",
            "Walking several blocks",
            "Walking one block",
            "Bathing or dressing yourself",
        ),
        _LIMITED,
    ),
    *_group(
        _PHYSICAL_ROLE,
        13,
        (
            "Cut down the amount of time you spent on work or other activities",
            "Accomplished less than you would like",
            "Were limited in the kind of work or other activities",
            "Had difficulty performing the work or other activities (for example, it took extra effort)",
        ),
        _YES_NO,
    ),
    *_group(
        _EMOTIONAL_ROLE,
        17,
        (
            "Cut down the amount of time you spent on work or other activities",
            "Accomplished less than you would like",
            "Didn't do work or other activities as carefully as usual",
        ),
        _YES_NO,
    ),
    Item(
        "20",
        "During the past 4 weeks, to what extent has your physical health or emotional problems interfered with "
        "your normal social activities with family, friends, neighbors, or groups?",
        _options("Not at all", "Slightly", "Moderately", "Quite a bit", "Extremely"),
    ),
    Item(
        "21",
        "How much bodily pain have you had during the past 4 weeks?",
        _options("None", "Very mild", "Mild", "Moderate", "Severe", "Very severe"),
    ),
    Item(
        "22",
        "During the past 4 weeks, how much did pain interfere with your normal work "
        "(including both work outside the home and housework)?",
        _options("Not at all", "A little bit", "Moderately", "Quite a bit", "Extremely"),
    ),
    *_group(
        _FEELINGS,
        23,
        (
            "Did you feel full of pep?",
            "Have you been a very nervous person?",
            "Have you felt so down in the dumps that nothing could cheer you up?",
            "Have you felt calm and peaceful?",
            "Did you have a lot of energy?",
            "Have you felt downhearted and blue?",
            "Did you feel worn out?",
            "Have you been a happy person?",
            "Did you feel tired?",
        ),
        _TIME_6,
    ),
    Item(
        "32",
        "During the past 4 weeks, how much of the time has your physical health or emotional problems interfered "
        "with your social activities (like visiting with friends, relatives, etc.)?",
        _options("All of the time", "Most of the time", "Some of the time", "A little of the time", "None of the time"),
    ),
    *_group(
        _TRUE_OR_FALSE,
        33,
        (
            "I seem to get sick a little easier than other people",
            "I am as healthy as anybody I know",
            "I expect my health to get worse",
            "My health is excellent",
        ),
        _TRUE_FALSE,
    ),
)


# --- Social Support Rating Scale (Xiao Shuiyuan, 社会支持评定量表), English translation ---

SSRS_SOURCES: tuple[str, ...] = (
    "Spouse or partner",
    "Other family members",
    "Relatives",
    "Friends",
    "Colleagues",
    "Work unit",
    "Official or semi-official organisations (such as the Party, Youth League or trade union)",
    "Unofficial organisations (such as religious or social groups)",
    "Other",
)
_SOURCES_NOTE = (
    " Count the sources ticked from: " + "; ".join(source.lower() for source in SSRS_SOURCES) + ". 0 = no source."
)
_CARE = (
    "Do not care about each other at all; only nodding acquaintances",
    "A few might care a little when I have difficulties",
    "Some of them care about me very much",
    "Most of them care about me very much",
)
_FAMILY_SUPPORT = _options("None", "Little", "Some", "Full support")
_FAMILY = "How much support and care do you receive from each of these family members?"

SSRS_ITEMS: tuple[Item, ...] = (
    Item(
        "1",
        "How many close friends do you have from whom you can get support and help?",
        _options("None", "One or two", "Three to five", "Six or more"),
    ),
    Item(
        "2",
        "During the past year, you have mostly:",
        _options(
            "Lived far away from family, and alone",
            "Moved often, mostly living with strangers",
            "Lived with schoolmates, colleagues or friends",
            "Lived with family",
        ),
    ),
    Item("3", "With your neighbours:", _options(*_CARE)),
    Item("4", "With your colleagues:", _options(*_CARE)),
    *(
        Item(key, text, _FAMILY_SUPPORT, heading=_FAMILY)
        for key, text in (
            ("5a", "Spouse or partner"),
            ("5b", "Parents"),
            ("5c", "Children"),
            ("5d", "Brothers and sisters"),
            ("5e", "Other family members (such as sisters-in-law)"),
        )
    ),
    Item(
        "6",
        "In the past, when you were in an emergency, from how many sources did you receive financial help or "
        "help in solving practical problems?" + _SOURCES_NOTE,
        count_range=(0, len(SSRS_SOURCES)),
    ),
    Item(
        "7",
        "In the past, when you were in trouble, from how many sources did you receive comfort and care?"
        + _SOURCES_NOTE,
        count_range=(0, len(SSRS_SOURCES)),
    ),
    Item(
        "8",
        "When you have troubles, how do you talk about them?",
        _options(
            "I never confide in anyone",
            "I confide only in one or two very close people",
            "I talk about them if friends ask me",
            "I actively confide my troubles to get support and understanding",
        ),
    ),
    Item(
        "9",
        "When you have troubles, how do you ask for help?",
        _options(
            "I rely only on myself and do not accept help from others",
            "I rarely ask others for help",
            "I sometimes ask others for help",
            "When in difficulty I often ask family, relatives, friends or organisations for help",
        ),
    ),
    Item(
        "10",
        "How do you take part in group activities (such as Party, religious, trade-union or student organisations)?",
        _options("I never take part", "I take part occasionally", "I often take part", "I actively take part"),
    ),
)

INSTRUMENT_ITEMS: dict[str, tuple[Item, ...]] = {"RAND36": RAND36_ITEMS, "SSRS": SSRS_ITEMS}

INSTRUMENT_NAMES: dict[str, str] = {"RAND36": "RAND 36-Item Health Survey 1.0", "SSRS": "Social Support Rating Scale"}
