"""Writes for data quality and sign-off, one module per concern: queries and their workflow, automatic
checks, source-data verification and e-signatures, locks. Every write is audited (who, when, what, why).

The package exports every service, so callers write `quality.services.query_raise` whichever module
holds it (and settings name `quality.services.automatic_checks_sync` as the clinical-change hook).
"""

from quality.services.automatic_checks import automatic_checks_sync
from quality.services.bulk_queries import queries_answer, queries_close
from quality.services.locks import casebook_lock, casebook_unlock, database_lock, database_unlock
from quality.services.queries import query_answer, query_close, query_raise, query_reopen
from quality.services.signoff import casebook_sign, form_verify, forms_verify, signature_blockers

__all__ = [
    "automatic_checks_sync",
    "casebook_lock",
    "casebook_sign",
    "casebook_unlock",
    "database_lock",
    "database_unlock",
    "form_verify",
    "forms_verify",
    "queries_answer",
    "queries_close",
    "query_answer",
    "query_close",
    "query_raise",
    "query_reopen",
    "signature_blockers",
]
