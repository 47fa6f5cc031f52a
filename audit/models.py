"""What staff did, kept as evidence: who, when, to what, and the values before and after.

Written only by staff actions (the admin and its own pages), never by the system's saves: the POS,
the tasks and the public pages write no audit rows, so their hot paths cost nothing more.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        ADD = "add", _("added")
        CHANGE = "change", _("changed")
        DELETE = "delete", _("deleted")
        ADJUST_POINTS = "adjust_points", _("adjusted points")
        RESOLVE = "resolve", _("resolved")
        INVITE = "invite", _("invited")
        EXPORT = "export", _("exported")
        ERASE = "erase", _("erased")
        POSTED = "posted", _("marked posted")

    # The staff member, and their name as it was: the entry outlives the account.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("staff"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_username = models.CharField(_("staff username"), max_length=150)
    at = models.DateTimeField(_("when"), default=timezone.now)
    action = models.CharField(_("action"), max_length=32, choices=Action.choices)
    object_type = models.CharField(_("object type"), max_length=100, help_text=_("app_label.model"))
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    # {field: [before, after]} for changes; what was done for the rest (a segment, a count, a reason).
    changes = models.JSONField(_("changes"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-at", "-id"]
        # Evidence: looked at, never written by hand (the admin offers no add, change or delete).
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["actor", "-at"], name="audit_actor_idx"),
        ]

    def __str__(self):
        return f"{self.actor_username} · {self.get_action_display()} · {self.object_repr}"
