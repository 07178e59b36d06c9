"""Time zones as configuration: a site's staff read times in its own zone, named by IANA (Asia/Shanghai)."""

import zoneinfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


def valid_time_zone(name: str) -> None:
    """Refuses a name the IANA database does not know (a typo would otherwise fail on every page)."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("“%(name)s” is not a time zone (an IANA name such as Asia/Shanghai)."), params={"name": name}
        ) from None
