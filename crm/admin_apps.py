from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """Django's admin, its site with the staff dashboard (crm.admin_site)."""

    default_site = "crm.admin_site.StaffAdminSite"
