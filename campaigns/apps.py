from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        # Registered with Celery now: the launch nudges the gift task by name.
        from campaigns import dashboard, tasks  # noqa: F401

        dashboard.register()
