"""The admin site, with the staff dashboard at ``admin/dashboard/``."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _

from crm.dashboard import dashboard_context

# Every staff role holds one of these (customer service, store managers and the data protection
# officer see customers; marketing sees stores): each panel then asks for its own permission.
DASHBOARD_PERMISSIONS = ("crm.view_customer", "crm.view_store")
WEEKS_DEFAULT, WEEKS_MAX = 8, 26


def may_see_dashboard(user) -> bool:
    return any(user.has_perm(p) for p in DASHBOARD_PERMISSIONS)


class StaffAdminSite(admin.AdminSite):
    def get_urls(self):
        return [path("dashboard/", self.admin_view(self.dashboard_view), name="dashboard"), *super().get_urls()]

    def each_context(self, request):
        context = super().each_context(request)
        context["may_see_dashboard"] = request.user.is_active and may_see_dashboard(request.user)
        return context

    def dashboard_view(self, request):
        if not may_see_dashboard(request.user):
            raise PermissionDenied
        try:
            weeks = min(max(int(request.GET.get("weeks", WEEKS_DEFAULT)), 1), WEEKS_MAX)
        except ValueError:
            weeks = WEEKS_DEFAULT
        context = {
            **self.each_context(request),
            "title": _("Dashboard"),
            "weeks": weeks,
            "week_choices": [4, 8, 13, 26],
            **dashboard_context(request, weeks=weeks),
        }
        return TemplateResponse(request, "admin/crm/dashboard/index.html", context)
