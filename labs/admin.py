from django.contrib import admin

from core.admin import AuditedAdmin
from labs.models import Analyte, ReferenceRange


class ReferenceRangeInline(admin.TabularInline):
    model = ReferenceRange
    extra = 0


@admin.register(Analyte)
class AnalyteAdmin(AuditedAdmin):
    list_display = ["code", "name", "canonical_unit", "hard_max", "display_decimals"]
    inlines = [ReferenceRangeInline]
