"""The one call account services make to end a user's API tokens (password change, deactivation, roles).

The tokens themselves belong to core.tokens (django-rest-knox); until that module is in the tree the
call revokes nothing, so account changes never wait on it. Replace this wrapper by the direct import
once core.tokens is merged.
"""

from importlib import import_module


def user_tokens_revoke(*, user, by, reason: str) -> None:
    """Every API token of `user` stops working now."""
    try:
        tokens = import_module("core.tokens")
    except ModuleNotFoundError:
        return
    tokens.user_tokens_revoke(user=user, by=by, reason=reason)
