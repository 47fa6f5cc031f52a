"""Times shown to staff: in their own zone, and next to it the customer's, each labelled.

Storage is UTC. A staff member's zone is their StaffProfile's (blank: ``settings.TIME_ZONE``),
activated for every admin request by ``crm.middleware.StaffTimeZoneMiddleware``, so Django's own
``localtime`` and the admin's widgets already speak it; a customer's zone is ``Customer.zone``.
"""

import datetime
import zoneinfo

from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

# Day, time and the zone's abbreviation as it was on that day (EET in winter, EEST in summer).
MOMENT = "Y-m-d H:i T"


def staff_zone(user) -> zoneinfo.ZoneInfo:
    """The zone ``user`` reads times in: their profile's, else the server's. The signed-in user
    comes with their profile (crm.auth.StaffBackend): no query of its own on each admin request."""
    try:
        name = user.staff_profile.time_zone
    except ObjectDoesNotExist:
        name = ""
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


def moment_in(moment: datetime.datetime | None, zone: zoneinfo.ZoneInfo) -> str:
    """``moment`` as the wall clock of ``zone`` shows it, with the zone's abbreviation."""
    if moment is None:
        return "—"
    return date_format(moment.astimezone(zone), MOMENT)


def both_zones(moment: datetime.datetime | None, customer_zone: zoneinfo.ZoneInfo, staff=None) -> str:
    """ "2026-10-26 09:00 EET (customer) · 2026-10-26 08:00 CET (you)"; once when both clocks agree."""
    if moment is None:
        return "—"
    staff = staff or timezone.get_current_timezone()
    theirs, yours = moment_in(moment, customer_zone), moment_in(moment, staff)
    if theirs == yours:
        return _("%(time)s (customer and you)") % {"time": theirs}
    return _("%(customer)s (customer) · %(you)s (you)") % {"customer": theirs, "you": yours}
