"""`gettext_noop` for pure modules: marks a string for the translation catalogue without importing Django.

makemessages (xgettext) finds the call by its name; the string itself stays as it is (English, the
stored and API form). Pages translate it where they show it, e.g. `{% translate form.state %}`.
"""


def gettext_noop(message: str) -> str:
    """The message unchanged: only a marker for the catalogue."""
    return message
