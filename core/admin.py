"""Administration of users, sites and trial configuration. Clinical data is not administered here."""

from django.contrib import admin

from core.audit import audited
from core.models import Arm, EligibilityCriterion, Site, SiteMembership, Timepoint, Trial


class AuditedAdmin(admin.ModelAdmin):
    """Configuration changes made in the admin carry the admin user in the audit trail."""

    def save_model(self, request, obj, form, change):
        with audited(by=request.user, reason="Changed in administration"):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        with audited(by=request.user, reason="Changed in administration"):
            super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        with audited(by=request.user, reason="Deleted in administration"):
            super().delete_model(request, obj)


class SiteMembershipInline(admin.TabularInline):
    model = SiteMembership
    extra = 1


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name"]
    inlines = [SiteMembershipInline]


@admin.register(Trial)
class TrialAdmin(AuditedAdmin):
    list_display = ["name", "status", "target_sample_size", "results_blinded"]


@admin.register(Arm)
class ArmAdmin(AuditedAdmin):
    list_display = ["code", "label", "is_control", "order"]


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(AuditedAdmin):
    list_display = ["code", "kind", "text", "order", "active"]


@admin.register(Timepoint)
class TimepointAdmin(AuditedAdmin):
    list_display = ["code", "label", "day_offset", "window_before", "window_after"]
