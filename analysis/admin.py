"""The export log, read-only: rows are written by the exports themselves and never changed or deleted here."""

from django.contrib import admin

from analysis.models import ExportLog


@admin.register(ExportLog)
class ExportLogAdmin(admin.ModelAdmin):
    list_display = ["started_at", "username", "dataset", "format", "row_count", "completed", "request_id"]
    list_filter = ["dataset", "format", "completed"]
    search_fields = ["username", "request_id"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
