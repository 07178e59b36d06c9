from core.selectors import current_trial


def trial(request):
    """The trial's name for every page header (one small query, only for logged-in pages)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"trial": current_trial(request)}
