from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django.views.defaults import page_not_found as django_page_not_found
from django.views.i18n import set_language as django_set_language


@login_not_required
@never_cache
@require_GET
def health(request):
    """Liveness and database reachability for load balancers and compose healthchecks."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse({"status": "error", "database": "unreachable"}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@login_not_required
@require_POST
def set_language(request):
    """The language switcher (English / 中文): public, because the login page offers it too.

    Django's own view, wrapped so that marking it public does not change Django's function object.
    It only sets the language cookie and redirects to a safe `next` URL on this host.
    """
    return django_set_language(request)


def page_not_found(request, exception):
    """JSON for the API (SPEC §7: errors are JSON), the site's page for everything else."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return django_page_not_found(request, exception)
