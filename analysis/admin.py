"""The export log, read-only: rows are written by the exports themselves and never changed or deleted here."""

from django.contrib import admin

from analysis.models import ExportLog
from core.admin import ReadOnlyAdmin


@admin.register(ExportLog)
class ExportLogAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "username", "dataset", "format", "row_count", "completed", "request_id"]
    list_filter = ["dataset", "format", "completed"]
    search_fields = ["username", "request_id"]
    date_hierarchy = "started_at"
