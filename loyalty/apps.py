from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self):
        from loyalty import dashboard, lockout, timeline  # noqa: F401 (connects: deleting a lockout in the admin lifts it)

        timeline.register()
        dashboard.register()
