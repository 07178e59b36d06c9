from core.models import Trial


def trial(request):
    """The trial's name for every page header (one small query, only for logged-in pages)."""
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    return {"trial": Trial.objects.only("name", "status").first()}
