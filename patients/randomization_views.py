"""Randomization pages: the statistician's in-error flag and allocation lists (the staff's Randomize step is
casebook.views.randomize_view: it shows the quality form states of the forms randomization needs)."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from core.exceptions import DomainError
from core.forms import add_domain_errors
from patients import forms, randomization, selectors


@require_http_methods(["GET", "POST"])
def randomization_error_view(request, study_id):
    patient = selectors.patient_get(user=request.user, study_id=study_id)
    if not request.user.has_perm("core.flag_randomization_error"):
        raise PermissionDenied(_("Only the statistician marks a randomization as made in error."))
    record = getattr(patient, "randomization", None)
    if record is None:
        raise Http404("This patient is not randomized.")
    form = forms.RandomizationErrorForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            randomization.randomization_flag_error(
                randomization=record, reason=form.cleaned_data["reason"], by=request.user
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(
                request,
                _("%(study_id)s: randomized in error (stays in ITT, leaves per-protocol).")
                % {"study_id": patient.study_id},
            )
            return redirect("casebook:patient", study_id=patient.study_id)
    return render(
        request,
        "patients/record_form.html",
        {"patient": patient, "form": form, "title": _("Mark randomized in error"), "danger": True},
    )


def statistician_only(view):
    """Concealment before anything else: to other roles these URLs do not exist (not even a 405)."""

    @wraps(view)
    def guarded(request, *args, **kwargs):
        selectors.require_allocation_viewer(request.user)
        return view(request, *args, **kwargs)

    return guarded


@statistician_only
@require_http_methods(["GET", "POST"])
def allocation_overview_view(request):
    strata = selectors.allocation_overview(user=request.user)
    generate = forms.AllocationGenerateForm(request.POST if "generate" in request.POST else None, prefix="gen")
    upload = forms.AllocationImportForm(
        request.POST if "import" in request.POST else None, request.FILES or None, prefix="imp"
    )
    if request.method == "POST":
        created = _create_list(request, generate, upload)
        if created:
            return redirect("allocation:detail", pk=created.pk)
    return render(
        request, "patients/allocation_overview.html", {"strata": strata, "generate": generate, "upload": upload}
    )


def _create_list(request, generate, upload):
    form = generate if "generate" in request.POST else upload
    if not form.is_valid():
        return None
    data = form.cleaned_data
    try:
        if form is generate:
            return randomization.allocation_list_generate(
                site=data["site"],
                age_group=data["age_group"],
                length=data["length"],
                block_sizes=data["block_sizes"],
                by=request.user,
            )
        return randomization.allocation_list_import(
            site=data["site"],
            age_group=data["age_group"],
            content=data["file"].read(),
            filename=data["file"].name,
            by=request.user,
        )
    except DomainError as error:
        add_domain_errors(form, error)
    return None


@statistician_only
def allocation_detail_view(request, pk):
    allocation_list = selectors.allocation_list_get(user=request.user, pk=pk)
    return _detail(request, allocation_list, forms.AllocationExtendForm())


def _detail(request, allocation_list, extend_form):
    slots = selectors.allocation_slots(user=request.user, allocation_list=allocation_list)
    verified = randomization.allocation_list_verify(allocation_list=allocation_list, by=request.user)
    context = {"allocation_list": allocation_list, "slots": slots, "extend": extend_form, "verified": verified}
    return render(request, "patients/allocation_detail.html", context)


@statistician_only
@require_POST
def allocation_go_live_view(request, pk):
    allocation_list = selectors.allocation_list_get(user=request.user, pk=pk)
    try:
        live = randomization.allocation_list_go_live(allocation_list=allocation_list, by=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(list)s is live. SHA-256 %(sha256)s.") % {"list": live, "sha256": live.sha256})
    return redirect("allocation:detail", pk=pk)


@statistician_only
@require_POST
def allocation_extend_view(request, pk):
    allocation_list = selectors.allocation_list_get(user=request.user, pk=pk)
    form = forms.AllocationExtendForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data.get("file")
        try:
            added = randomization.allocation_list_extend(
                allocation_list=allocation_list,
                by=request.user,
                length=form.cleaned_data.get("length") or 0,
                content=upload.read() if upload else b"",
            )
        except DomainError as error:
            add_domain_errors(form, error)
        else:
            messages.success(
                request, ngettext("%(count)d slot added.", "%(count)d slots added.", added) % {"count": added}
            )
            return redirect("allocation:detail", pk=pk)
    return _detail(request, allocation_list, form)
