from django.urls import reverse
from django.utils import timezone

from crm.zones import staff_zone


class StaffTimeZoneMiddleware:
    """Admin pages in the signed-in staff member's own zone (StaffProfile.time_zone, else the
    server's): the admin's lists, forms and date widgets show and read their wall clock."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.prefix = None

    def __call__(self, request):
        if self.prefix is None:
            self.prefix = reverse("admin:index")
        user = getattr(request, "user", None)
        if not request.path_info.startswith(self.prefix) or user is None or not user.is_authenticated:
            return self.get_response(request)
        timezone.activate(staff_zone(user))
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
