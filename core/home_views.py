"""The home page: each role's work, counted and linked (core/worklists.py gathers it from the apps)."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from core.worklists import worklist_for


@require_GET
def home_view(request):
    return render(request, "home.html", {"sections": worklist_for(request.user)})
