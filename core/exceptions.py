"""Domain errors raised by services; views and the API turn them into messages and status codes.

Messages are translated when raised, into the language of the request (English unless the user chose
another); tests and API clients without a language choice get the English text.
"""

from django.utils.translation import gettext as _


class DomainError(Exception):
    """A rule refused the change; `errors` maps a field name (or "__all__") to messages."""

    status_code = 400

    def __init__(self, errors: dict[str, list[str]] | str):
        if isinstance(errors, str):
            errors = {"__all__": [errors]}
        self.errors = errors
        super().__init__("; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in errors.items()))


class ValidationFailed(DomainError):
    pass


class ReasonRequired(DomainError):
    def __init__(self):
        super().__init__({"reason": [_("A reason is required to change data after first entry.")]})


class StaleVersion(DomainError):
    """The record changed since the user loaded it; saving would overwrite someone's work."""

    status_code = 409

    def __init__(self, *, changed_by: str, changed_at, current_version: int):
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.current_version = current_version
        super().__init__(
            _(
                "This record was changed by %(user)s at %(at)s after you opened it (now version %(version)s). "
                "Reload it, check their change, and enter yours again."
            )
            % {"user": changed_by, "at": f"{changed_at:%Y-%m-%d %H:%M:%S %Z}", "version": current_version}
        )


class InvalidTransition(DomainError):
    status_code = 409


class Locked(DomainError):
    """The casebook or the whole trial database is locked: no clinical data may change."""

    status_code = 423


class SignatureRefused(DomainError):
    """An electronic signature could not be applied (wrong credentials, incomplete casebook...)."""
