from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from crm.links.pages import language_reader_register

        # Checks and tasks register themselves; the tasks so that code anywhere can nudge them by name.
        from notifications import checks, dashboard, receivers, selectors, tasks, timeline  # noqa: F401

        receivers.connect()
        timeline.register()
        dashboard.register()
        language_reader_register("notifications", selectors.chosen_language)
