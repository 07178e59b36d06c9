"""The Content-Security-Policy of every page, as settings.py hands it to django-csp.

Everything from this origin only: Bootstrap, Chart.js and htmx are vendored, data for scripts comes in
json_script blocks (not executed), so no inline script runs. Inline styles are still allowed because
templates/analysis/dashboard.html (a <style> block, style="" sizes) and database_lock.html use them,
as do the admin's change list and the Swagger UI page; the report-only policy (STRICT) shows what
dropping 'unsafe-inline' would block. data: images are Bootstrap's SVG icons inside its CSS.
"""

from csp import constants

STRICT = {
    "default-src": [constants.SELF],
    "script-src": [constants.SELF],
    "style-src": [constants.SELF],
    "img-src": [constants.SELF, "data:"],
    "font-src": [constants.SELF],
    "connect-src": [constants.SELF],
    "object-src": [constants.NONE],
    "base-uri": [constants.NONE],
    "form-action": [constants.SELF],
    "frame-ancestors": [constants.NONE],
}
ENFORCED = {**STRICT, "style-src": [constants.SELF, constants.UNSAFE_INLINE]}
