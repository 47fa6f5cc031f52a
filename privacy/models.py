from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Customer


class DataRequest(models.Model):
    """A use of a customer's data rights, kept as evidence: who exported or erased what, when and why.

    Also carries the permissions staff need for these (``privacy.export_customer``,
    ``privacy.erase_customer``), apart from the ordinary rights to view or change customers.
    """

    class Kind(models.TextChoices):
        EXPORT_JSON = "export_json", _("export (JSON file)")
        EXPORT_PAGE = "export_page", _("export (page)")
        ERASURE = "erasure", _("erasure")

    class Source(models.TextChoices):
        ADMIN = "admin", _("staff, in the admin")
        CUSTOMER = "customer", _("the customer, from the preference centre")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="data_requests"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    source = models.CharField(_("requested by"), max_length=16, choices=Source.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("staff"), null=True, blank=True, on_delete=models.PROTECT
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("data request")
        verbose_name_plural = _("data requests")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("export_customer", _("Can export a customer's personal data")),
            ("erase_customer", _("Can erase a customer's personal data")),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="erasure") | (~models.Q(reason="") & models.Q(staff__isnull=False)),
                name="privacy_erasure_has_reason_and_staff",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.created_at:%Y-%m-%d %H:%M}"
