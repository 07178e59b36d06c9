"""Domain errors raised by services; views and the API turn them into messages and status codes."""


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
        super().__init__({"reason": ["A reason is required to change data after first entry."]})


class StaleVersion(DomainError):
    """The record changed since the user loaded it; saving would overwrite someone's work."""

    status_code = 409

    def __init__(self, *, changed_by: str, changed_at, current_version: int):
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.current_version = current_version
        super().__init__(
            f"This record was changed by {changed_by} at {changed_at:%Y-%m-%d %H:%M:%S %Z} after you opened it "
            f"(now version {current_version}). Reload it, check their change, and enter yours again."
        )


class InvalidTransition(DomainError):
    status_code = 409


class Locked(DomainError):
    """The casebook or the whole trial database is locked: no clinical data may change."""

    status_code = 423


class SignatureRefused(DomainError):
    """An electronic signature could not be applied (wrong credentials, incomplete casebook...)."""
