from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Data rights: what the CRM holds about a customer, the export, erasure and retention.

    A top app: it reads (and on erasure anonymises) every other app; none of them imports it.
    """

    name = "privacy"
    verbose_name = _("Privacy")
