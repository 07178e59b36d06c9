"""Sign-off: source-data verification of a form and the investigator's e-signature of a casebook."""

import logging
from collections import Counter
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core import access
from core.audit import audited
from core.exceptions import InvalidTransition, SignatureRefused, ValidationFailed
from core.lockout import MESSAGES, Lock, Reauthentication, reauthenticate
from patients.models import Patient
from quality import catalogue, selectors
from quality.models import (
    CasebookSignature,
    DataQuery,
    QueryStatus,
    SignatureMeaning,
    SourceVerification,
)
from quality.services.queries import not_a_form_errors

logger = logging.getLogger(__name__)


def form_verify(*, patient: Patient, form: str, by) -> SourceVerification:
    """A monitor marks a complete form verified against source; any later change un-verifies it."""
    if not by.has_perm("core.verify_source_data"):
        raise PermissionDenied(_("Only monitors mark forms source-data-verified."))
    if not access.can_read_site(by, patient.site_id):
        raise PermissionDenied(_("You may not read this site's data."))
    with audited(by=by, reason="Source data verified"):
        book = selectors.casebook_get(patient)
        status = next((f for f in book.forms if f.key == form), None)
        if status is None:
            raise ValidationFailed(not_a_form_errors(form, patient))
        if status.state in catalogue.NOT_DONE:
            raise InvalidTransition(
                _("%(form)s is %(state)s: only a complete form can be verified.")
                % {"form": status.label, "state": _(status.state)}
            )
        existing = book.verifications.get(form)
        if existing is not None and existing.content_hash == status.content_hash:
            return existing
        return SourceVerification.objects.create(
            patient=patient, form=form, content_hash=status.content_hash, verified_by=by
        )


@dataclass(frozen=True)
class VerifyReport:
    """What one verification action did: forms verified now, already verified, and skipped (with why)."""

    verified: list[str]  # labels
    already: list[str]
    skipped: list[str]  # one sentence per form: its label and why it was not verified


def _why_not_verifiable(status: catalogue.FormStatus, open_queries: int) -> str:
    if status.state in catalogue.NOT_DONE:
        return _("%(form)s is %(state)s: only a complete form can be verified.") % {
            "form": status.label,
            "state": _(status.state),
        }
    if open_queries:
        return ngettext(
            "%(form)s has %(count)d data query not closed: close it before verifying the form.",
            "%(form)s has %(count)d data queries not closed: close them before verifying the form.",
            open_queries,
        ) % {"form": status.label, "count": open_queries}
    return ""


def _unresolved_queries_by_form(patient: Patient) -> Counter:
    unresolved = DataQuery.objects.filter(patient=patient).exclude(status=QueryStatus.CLOSED)
    return Counter(unresolved.values_list("form", flat=True))


def forms_verify(*, patient: Patient, forms: list[str], by) -> VerifyReport:
    """A monitor verifies several forms at once (one, a visit's, the whole casebook): each complete form
    without an unresolved query gets its own SourceVerification, in one transaction; the rest are skipped
    and reported. A key that is not a form of her casebook refuses the whole action."""
    if not by.has_perm("core.verify_source_data"):
        raise PermissionDenied(_("Only monitors mark forms source-data-verified."))
    if not access.can_read_site(by, patient.site_id):
        raise PermissionDenied(_("You may not read this site's data."))
    with audited(by=by, reason="Source data verified"):
        Patient.objects.select_for_update().get(pk=patient.pk)  # one verifier at a time, on the content hashed
        book = selectors.casebook_get(patient)
        statuses = {f.key: f for f in book.forms}
        unknown = [key for key in forms if key not in statuses]
        if unknown:
            raise ValidationFailed(not_a_form_errors(unknown[0], patient))
        if not forms:
            raise ValidationFailed({"form": [_("Choose the forms to verify.")]})
        open_queries = _unresolved_queries_by_form(patient)
        verified, already, skipped, new = [], [], [], []
        for key in dict.fromkeys(forms):
            status, existing = statuses[key], book.verifications.get(key)
            why = _why_not_verifiable(status, open_queries.get(key, 0))
            if why:
                skipped.append(str(why))
            elif existing is not None and existing.content_hash == status.content_hash:
                already.append(str(status.label))  # some labels are lazy: the report holds text
            else:
                new.append(
                    SourceVerification(patient=patient, form=key, content_hash=status.content_hash, verified_by=by)
                )
                verified.append(str(status.label))
        SourceVerification.objects.bulk_create(new)
    return VerifyReport(verified, already, skipped)


# --- Electronic signature (21 CFR Part 11) ---------------------------------------------------------


def signature_blockers(book: selectors.Casebook, open_queries: int) -> list[str]:
    """Why this casebook cannot be signed now (empty: it can)."""
    blockers = [_("%(form)s is %(state)s.") % {"form": f.label, "state": _(f.state)} for f in book.incomplete_forms]
    if open_queries:
        blockers.append(
            ngettext("%(count)d data query is not closed.", "%(count)d data queries are not closed.", open_queries)
            % {"count": open_queries}
        )
    if book.locked:
        blockers.append(_("The casebook is locked."))
    return blockers


def _signer_reauthenticate(*, patient: Patient, username: str, password: str, by, request) -> None:
    """Both identification components re-entered (11.200(a)), through the login's lockout and audit."""
    outcome = reauthenticate(user=by, username=username or "", password=password or "", request=request)
    if outcome in (Reauthentication.LOCKED_AT_ADDRESS, Reauthentication.LOCKED_ACCOUNT):
        why = MESSAGES[Lock(outcome.value)]
        raise SignatureRefused({"password": [_("The casebook was not signed. %(why)s") % {"why": why}]})
    if outcome == Reauthentication.REFUSED:
        # Logged without the password; each failure is also a SIGNATURE_FAILED account event.
        logger.warning("e-signature refused: wrong credentials for user %s on %s", by.get_username(), patient.study_id)
        raise SignatureRefused({"password": [_("User name or password is not correct: the casebook was not signed.")]})


def casebook_sign(*, patient: Patient, username: str, password: str, meaning: str, by, request) -> CasebookSignature:
    """Sign with both identification components re-entered (11.200(a)); bound to the content hash (11.70).

    Not atomic as a whole: a refused password's account event commits before anything can roll back.
    """
    if not by.has_perm("core.sign_casebook") or patient.site_id not in access.member_site_ids(by):
        raise PermissionDenied(_("Only an investigator of the patient's site signs her casebook."))
    if meaning not in SignatureMeaning.values:
        raise ValidationFailed({"meaning": [_("Choose what your signature means.")]})
    _signer_reauthenticate(patient=patient, username=username, password=password, by=by, request=request)
    with audited(by=by, reason=f"Casebook signed ({meaning})"):
        Patient.objects.select_for_update().get(pk=patient.pk)  # no change slips in while we hash
        book = selectors.casebook_get(patient)
        blockers = signature_blockers(book, selectors.open_query_counts([patient.pk])[patient.pk])
        if blockers:
            raise SignatureRefused(
                {"__all__": [_("This casebook cannot be signed yet: %(blockers)s") % {"blockers": " ".join(blockers)}]}
            )
        return CasebookSignature.objects.create(
            patient=patient,
            signer=by,
            printed_name=by.get_full_name() or by.get_username(),
            meaning=meaning,
            content_hash=book.content_hash,
            manifest=book.manifest,
        )


# --- Locks ---------------------------------------------------------------------------------------
