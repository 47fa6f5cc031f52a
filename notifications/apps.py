from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from crm.links.pages import language_reader_register
        from notifications import checks, receivers, selectors  # noqa: F401 (checks register themselves)

        receivers.connect()
        language_reader_register("notifications", selectors.chosen_language)
