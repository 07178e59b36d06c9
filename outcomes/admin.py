from django.contrib import admin

from core.admin import AuditedAdmin
from outcomes.models import Instrument


@admin.register(Instrument)
class InstrumentAdmin(AuditedAdmin):
    list_display = ["code", "name", "item_count"]
