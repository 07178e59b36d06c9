"""Administration of accounts, sites and trial configuration. Clinical data is not administered here.

Separation of duties: every account change goes through the account services (core/accounts.py,
core/access_grants.py), which refuse changes to one's own privileges and hold sensitive grants for a
second person's approval. No page here sets a password, the superuser flag or raw permissions, lists API
tokens, or changes the trial's status or blinding (the statistician's trial settings do, with reasons).
Every configuration change carries the reason its author typed.
"""

from django import forms
from django.apps import apps
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.http import HttpResponseRedirect
from django.utils.translation import gettext_lazy as _

from core.access_grants import account_roles_set, account_sites_set
from core.accounts import account_create, account_password_link_send, account_update
from core.audit import audited
from core.exceptions import DomainError
from core.models import (
    AccessGrant,
    Arm,
    EligibilityCriterion,
    GrantKind,
    GrantStatus,
    Site,
    SiteMembership,
    Timepoint,
    Trial,
)

User = get_user_model()


def _reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for this change"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Recorded in the audit trail with your name."),
    )


class ReasonForm(forms.ModelForm):
    """A configuration form whose change carries its author's own reason into the audit trail."""

    reason = _reason_field()


class AuditedAdmin(admin.ModelAdmin):
    """Configuration changes made in the admin carry the admin user and the reason typed."""

    form = ReasonForm

    def save_model(self, request, obj, form, change):
        with audited(by=request.user, reason=form.cleaned_data["reason"]):
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        with audited(by=request.user, reason=form.cleaned_data["reason"]):
            super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        with audited(by=request.user, reason="Deleted in administration"):
            super().delete_model(request, obj)


class SiteMembershipInline(admin.TabularInline):
    """Read only: memberships change on the account's page, where additions wait for the site's approval."""

    model = SiteMembership
    extra = 0
    fields = ["user"]
    readonly_fields = ["user"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Site)
class SiteAdmin(AuditedAdmin):
    list_display = ["code", "name", "time_zone"]  # the zone its staff read the audit trail's times in
    inlines = [SiteMembershipInline]


@admin.register(Trial)
class TrialAdmin(AuditedAdmin):
    list_display = ["name", "status", "target_sample_size", "results_blinded"]
    # Status and blinding change on the statistician's trial settings page, the lock through its service.
    readonly_fields = ["status", "results_blinded"]


@admin.register(Arm)
class ArmAdmin(AuditedAdmin):
    list_display = ["code", "label", "is_control", "order"]


@admin.register(EligibilityCriterion)
class EligibilityCriterionAdmin(AuditedAdmin):
    list_display = ["code", "kind", "text", "order", "active"]


@admin.register(Timepoint)
class TimepointAdmin(AuditedAdmin):
    list_display = ["code", "label", "day_offset", "window_before", "window_after"]


# --- Accounts ----------------------------------------------------------------------------------------


class AccountForm(forms.ModelForm):
    """The account's row, roles and sites; no password, superuser flag or raw permissions."""

    roles = forms.ModelMultipleChoiceField(
        queryset=Group.objects.order_by("name"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Roles that see identity or unblinded results wait for approval in the application."),
    )
    sites = forms.ModelMultipleChoiceField(
        queryset=Site.objects.order_by("code"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("A new site membership waits for an investigator of that site to approve it."),
    )
    reason = _reason_field()

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = self.instance
        if user.pk is None:
            return
        pending = AccessGrant.objects.filter(user=user, status=GrantStatus.PENDING)
        self.fields["roles"].initial = [g.pk for g in user.groups.all()] + [
            g.group_id for g in pending if g.kind == GrantKind.ROLE
        ]
        self.fields["sites"].initial = list(user.site_memberships.values_list("site_id", flat=True)) + [
            g.site_id for g in pending if g.kind == GrantKind.MEMBERSHIP
        ]


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never added, changed or deleted here: rows some other part of the system owns."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyGroupAdmin(ReadOnlyAdmin):
    """Roles are declared in code (core/roles.py) and synced by `manage.py setup_roles`: shown, never edited."""

    list_display = ["name"]


def _access_summary(change) -> list[str]:
    notes = [str(_("Waiting for approval: %(what)s")) % {"what": grant} for grant in change.requested]
    notes += [str(_("Withdrawn: %(what)s")) % {"what": grant} for grant in change.withdrawn]
    return notes


class AccountAdmin(admin.ModelAdmin):
    """Accounts through the account services; no password page, no delete (deactivate instead)."""

    form = AccountForm
    list_display = ["username", "email", "is_active", "is_staff", "roles_shown", "last_login"]
    list_filter = ["is_active", "groups"]
    search_fields = ["username", "first_name", "last_name", "email"]
    actions = ["send_password_link"]
    readonly_fields = ["is_superuser", "pending_access", "last_login", "date_joined"]

    def get_fieldsets(self, request, obj=None):
        account = ["username", "first_name", "last_name", "email"]
        access = ["is_active", "is_staff", "roles", "sites"]
        if obj is None:
            return [(None, {"fields": account}), (_("Access"), {"fields": access}), (None, {"fields": ["reason"]})]
        return [
            (None, {"fields": account}),
            (_("Access"), {"fields": [*access, "pending_access", "is_superuser"]}),
            (None, {"fields": ["reason"]}),
            (_("Dates"), {"fields": ["last_login", "date_joined"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "username"] if obj is not None else []

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("Roles"))
    def roles_shown(self, user):
        return ", ".join(g.name for g in user.groups.all())

    @admin.display(description=_("Waiting for approval"))
    def pending_access(self, user):
        pending = AccessGrant.objects.filter(user=user, status=GrantStatus.PENDING).select_related("group", "site")
        return ", ".join(g.group.name if g.group_id else g.site.code for g in pending) or "—"

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # A service's refusal (own privileges, a superuser's account, mail not sent) rolls the whole save
        # back and is shown to the administrator instead of an error page.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            for message in [m for messages_ in error.errors.values() for m in messages_]:
                self.message_user(request, message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_form(self, request, form, change):
        return form.instance  # written by the services in save_model, never by the form

    def save_model(self, request, obj, form, change):
        data, reason = form.cleaned_data, form.cleaned_data["reason"]
        fields = {f: data[f] for f in ("first_name", "last_name", "email", "is_active", "is_staff") if f in data}
        if change:
            account_update(user=obj, data=fields, by=request.user, reason=reason)
            notes = _access_summary(account_roles_set(user=obj, groups=data["roles"], by=request.user, reason=reason))
            notes += _access_summary(account_sites_set(user=obj, sites=data["sites"], by=request.user, reason=reason))
        else:
            created = account_create(
                data={"username": data["username"], **fields},
                groups=data["roles"],
                sites=data["sites"],
                by=request.user,
                reason=reason,
                base_url=request.build_absolute_uri("/"),
            )
            obj.pk = created.user.pk
            notes = _access_summary(created.roles) + _access_summary(created.sites)
        for note in notes:
            self.message_user(request, note, messages.WARNING)
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        """Roles and sites were handled by the services: the form itself writes no relation."""

    @admin.action(description=_("Send a password link by e-mail"))
    def send_password_link(self, request, queryset):
        reason = f"Password link requested in administration by {request.user.get_username()}"
        for user in queryset:
            try:
                account_password_link_send(
                    user=user, by=request.user, base_url=request.build_absolute_uri("/"), reason=reason
                )
            except DomainError as error:
                self.message_user(request, f"{user}: {error}", messages.ERROR)
            else:
                self.message_user(request, _("Link sent to %(user)s.") % {"user": user}, messages.SUCCESS)


# Django's own user and group pages set passwords, the superuser flag and raw permissions: replaced.
for model in (User, Group):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.register(User, AccountAdmin)
admin.site.register(Group, ReadOnlyGroupAdmin)


def unregister_token_admins() -> None:
    """No token page: the token admin listed every key in clear text (DRF) and let staff act as anyone."""
    for label, model_name in (("authtoken", "TokenProxy"), ("authtoken", "Token"), ("knox", "AuthToken")):
        try:
            model = apps.get_model(label, model_name)
        except LookupError:
            continue
        if admin.site.is_registered(model):
            admin.site.unregister(model)


unregister_token_admins()
