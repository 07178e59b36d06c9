"""The questionnaires as data: RAND-36 and SSRS items, stems and response options. Pure: no Django.

English master text in one place, every string marked for the translation catalogue (without importing
Django: this module stays pure) and translated where a form shows it. The Chinese wording in
locale/zh_Hans follows the Chinese versions in use (SF-36 Chinese version; SSRS as published by Xiao
Shuiyuan); check it against the licensed forms the sites print before using it with patients. Option
values are the numbers printed on the forms (1-based); SSRS items 6 and 7 are counts of sources ticked
(0 = no source).
"""

from dataclasses import dataclass

from core.markers import gettext_noop


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

_LIMITED = _options(
    gettext_noop("Yes, limited a lot"), gettext_noop("Yes, limited a little"), gettext_noop("No, not limited at all")
)
_YES_NO = _options(gettext_noop("Yes"), gettext_noop("No"))
_TIME_6 = _options(
    gettext_noop("All of the time"),
    gettext_noop("Most of the time"),
    gettext_noop("A good bit of the time"),
    gettext_noop("Some of the time"),
    gettext_noop("A little of the time"),
    gettext_noop("None of the time"),
)
_TRUE_FALSE = _options(
    gettext_noop("Definitely true"),
    gettext_noop("Mostly true"),
    gettext_noop("Don't know"),
    gettext_noop("Mostly false"),
    gettext_noop("Definitely false"),
)

_ACTIVITIES = gettext_noop(
    "The following items are about activities you might do during a typical day. "
    "Does your health now limit you in these activities? If so, how much?"
)
_PHYSICAL_ROLE = gettext_noop(
    "During the past 4 weeks, have you had any of the following problems with your work or other regular "
    "daily activities as a result of your physical health?"
)
_EMOTIONAL_ROLE = gettext_noop(
    "During the past 4 weeks, have you had any of the following problems with your work or other regular "
    "daily activities as a result of any emotional problems (such as feeling depressed or anxious)?"
)
_FEELINGS = gettext_noop(
    "These questions are about how you feel and how things have been with you during the past 4 weeks. "
    "For each question, please give the one answer that comes closest to the way you have been feeling. "
    "How much of the time during the past 4 weeks…"
)
_TRUE_OR_FALSE = gettext_noop("How TRUE or FALSE is each of the following statements for you?")

RAND36_ITEMS: tuple[Item, ...] = (
    Item(
        "1",
        gettext_noop("In general, would you say your health is:"),
        _options(
            gettext_noop("Excellent"),
            gettext_noop("Very good"),
            gettext_noop("Good"),
            gettext_noop("Fair"),
            gettext_noop("Poor"),
        ),
    ),
    Item(
        "2",
        gettext_noop("Compared to one year ago, how would you rate your health in general now?"),
        _options(
            gettext_noop("Much better now than one year ago"),
            gettext_noop("Somewhat better now than one year ago"),
            gettext_noop("About the same"),
            gettext_noop("Somewhat worse now than one year ago"),
            gettext_noop("Much worse now than one year ago"),
        ),
    ),
    *_group(
        _ACTIVITIES,
        3,
        (
            gettext_noop(
                "Vigorous activities, such as running, lifting heavy objects, participating in strenuous sports"
            ),
            gettext_noop(
                "Moderate activities, such as moving a table, pushing a vacuum cleaner, bowling, or playing golf"
            ),
            gettext_noop("Lifting or carrying groceries"),
            gettext_noop("Climbing several flights of stairs"),
            gettext_noop("Climbing one flight of stairs"),
            gettext_noop("Bending, kneeling, or stooping"),
            gettext_noop("Walking more than a mile"),
            gettext_noop("Walking several blocks"),
            gettext_noop("Walking one block"),
            gettext_noop("Bathing or dressing yourself"),
        ),
        _LIMITED,
    ),
    *_group(
        _PHYSICAL_ROLE,
        13,
        (
            gettext_noop("Cut down the amount of time you spent on work or other activities"),
            gettext_noop("Accomplished less than you would like"),
            gettext_noop("Were limited in the kind of work or other activities"),
            gettext_noop("Had difficulty performing the work or other activities (for example, it took extra effort)"),
        ),
        _YES_NO,
    ),
    *_group(
        _EMOTIONAL_ROLE,
        17,
        (
            gettext_noop("Cut down the amount of time you spent on work or other activities"),
            gettext_noop("Accomplished less than you would like"),
            gettext_noop("Didn't do work or other activities as carefully as usual"),
        ),
        _YES_NO,
    ),
    Item(
        "20",
        gettext_noop(
            "During the past 4 weeks, to what extent has your physical health or emotional problems interfered with "
            "your normal social activities with family, friends, neighbors, or groups?"
        ),
        _options(
            gettext_noop("Not at all"),
            gettext_noop("Slightly"),
            gettext_noop("Moderately"),
            gettext_noop("Quite a bit"),
            gettext_noop("Extremely"),
        ),
    ),
    Item(
        "21",
        gettext_noop("How much bodily pain have you had during the past 4 weeks?"),
        _options(
            gettext_noop("None"),
            gettext_noop("Very mild"),
            gettext_noop("Mild"),
            gettext_noop("Moderate"),
            gettext_noop("Severe"),
            gettext_noop("Very severe"),
        ),
    ),
    Item(
        "22",
        gettext_noop(
            "During the past 4 weeks, how much did pain interfere with your normal work "
            "(including both work outside the home and housework)?"
        ),
        _options(
            gettext_noop("Not at all"),
            gettext_noop("A little bit"),
            gettext_noop("Moderately"),
            gettext_noop("Quite a bit"),
            gettext_noop("Extremely"),
        ),
    ),
    *_group(
        _FEELINGS,
        23,
        (
            gettext_noop("Did you feel full of pep?"),
            gettext_noop("Have you been a very nervous person?"),
            gettext_noop("Have you felt so down in the dumps that nothing could cheer you up?"),
            gettext_noop("Have you felt calm and peaceful?"),
            gettext_noop("Did you have a lot of energy?"),
            gettext_noop("Have you felt downhearted and blue?"),
            gettext_noop("Did you feel worn out?"),
            gettext_noop("Have you been a happy person?"),
            gettext_noop("Did you feel tired?"),
        ),
        _TIME_6,
    ),
    Item(
        "32",
        gettext_noop(
            "During the past 4 weeks, how much of the time has your physical health or emotional problems interfered "
            "with your social activities (like visiting with friends, relatives, etc.)?"
        ),
        _options(
            gettext_noop("All of the time"),
            gettext_noop("Most of the time"),
            gettext_noop("Some of the time"),
            gettext_noop("A little of the time"),
            gettext_noop("None of the time"),
        ),
    ),
    *_group(
        _TRUE_OR_FALSE,
        33,
        (
            gettext_noop("I seem to get sick a little easier than other people"),
            gettext_noop("I am as healthy as anybody I know"),
            gettext_noop("I expect my health to get worse"),
            gettext_noop("My health is excellent"),
        ),
        _TRUE_FALSE,
    ),
)


# --- Social Support Rating Scale (Xiao Shuiyuan, 社会支持评定量表), English translation ---

SSRS_SOURCES: tuple[str, ...] = (
    gettext_noop("Spouse or partner"),
    gettext_noop("Other family members"),
    gettext_noop("Relatives"),
    gettext_noop("Friends"),
    gettext_noop("Colleagues"),
    gettext_noop("Work unit"),
    gettext_noop("Official or semi-official organisations (such as the Party, Youth League or trade union)"),
    gettext_noop("Unofficial organisations (such as religious or social groups)"),
    gettext_noop("Other"),
)
# Written out (not joined from SSRS_SOURCES) so that the catalogue holds it; a test keeps the two in step.
SOURCES_NOTE = gettext_noop(
    " Count the sources ticked from: spouse or partner; other family members; relatives; friends; colleagues; "
    "work unit; official or semi-official organisations (such as the party, youth league or trade union); "
    "unofficial organisations (such as religious or social groups); other. 0 = no source."
)
_CARE = (
    gettext_noop("Do not care about each other at all; only nodding acquaintances"),
    gettext_noop("A few might care a little when I have difficulties"),
    gettext_noop("Some of them care about me very much"),
    gettext_noop("Most of them care about me very much"),
)
_FAMILY_SUPPORT = _options(
    gettext_noop("None"), gettext_noop("Little"), gettext_noop("Some"), gettext_noop("Full support")
)
_FAMILY = gettext_noop("How much support and care do you receive from each of these family members?")

SSRS_ITEMS: tuple[Item, ...] = (
    Item(
        "1",
        gettext_noop("How many close friends do you have from whom you can get support and help?"),
        _options(
            gettext_noop("None"), gettext_noop("One or two"), gettext_noop("Three to five"), gettext_noop("Six or more")
        ),
    ),
    Item(
        "2",
        gettext_noop("During the past year, you have mostly:"),
        _options(
            gettext_noop("Lived far away from family, and alone"),
            gettext_noop("Moved often, mostly living with strangers"),
            gettext_noop("Lived with schoolmates, colleagues or friends"),
            gettext_noop("Lived with family"),
        ),
    ),
    Item("3", gettext_noop("With your neighbours:"), _options(*_CARE)),
    Item("4", gettext_noop("With your colleagues:"), _options(*_CARE)),
    *(
        Item(key, text, _FAMILY_SUPPORT, heading=_FAMILY)
        for key, text in (
            ("5a", gettext_noop("Spouse or partner")),
            ("5b", gettext_noop("Parents")),
            ("5c", gettext_noop("Children")),
            ("5d", gettext_noop("Brothers and sisters")),
            ("5e", gettext_noop("Other family members (such as sisters-in-law)")),
        )
    ),
    Item(
        "6",
        gettext_noop(
            "In the past, when you were in an emergency, from how many sources did you receive financial help or "
            "help in solving practical problems?"
        )
        + SOURCES_NOTE,
        count_range=(0, len(SSRS_SOURCES)),
    ),
    Item(
        "7",
        gettext_noop("In the past, when you were in trouble, from how many sources did you receive comfort and care?")
        + SOURCES_NOTE,
        count_range=(0, len(SSRS_SOURCES)),
    ),
    Item(
        "8",
        gettext_noop("When you have troubles, how do you talk about them?"),
        _options(
            gettext_noop("I never confide in anyone"),
            gettext_noop("I confide only in one or two very close people"),
            gettext_noop("I talk about them if friends ask me"),
            gettext_noop("I actively confide my troubles to get support and understanding"),
        ),
    ),
    Item(
        "9",
        gettext_noop("When you have troubles, how do you ask for help?"),
        _options(
            gettext_noop("I rely only on myself and do not accept help from others"),
            gettext_noop("I rarely ask others for help"),
            gettext_noop("I sometimes ask others for help"),
            gettext_noop("When in difficulty I often ask family, relatives, friends or organisations for help"),
        ),
    ),
    Item(
        "10",
        gettext_noop(
            "How do you take part in group activities (such as Party, religious, trade-union or student organisations)?"
        ),
        _options(
            gettext_noop("I never take part"),
            gettext_noop("I take part occasionally"),
            gettext_noop("I often take part"),
            gettext_noop("I actively take part"),
        ),
    ),
)

INSTRUMENT_ITEMS: dict[str, tuple[Item, ...]] = {"RAND36": RAND36_ITEMS, "SSRS": SSRS_ITEMS}

INSTRUMENT_NAMES: dict[str, str] = {
    "RAND36": gettext_noop("RAND 36-Item Health Survey 1.0"),
    "SSRS": gettext_noop("Social Support Rating Scale"),
}
