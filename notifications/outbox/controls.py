"""Staff's hand on queued messages: cancel, send now, resend a failed one.

Each is a set-based update of the rows still in a state it applies to (a row a dispatcher has
claimed is left alone), noting on each row who did it, when, and why the row changed; the
policies still apply at send time (consent, quiet hours, caps), so "send now" asks the
dispatcher to send as soon as they allow, it does not bypass them.
"""

import datetime

from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from notifications.models import Notification
from notifications.outbox.write import kick_dispatcher

Status = Notification.Status
QUEUED = (Status.SCHEDULED, Status.DEFERRED)


def _note(text: str):
    """The row's detail with ``text`` added on a line of its own."""
    return Concat(F("detail"), Value("\n" + text))


def queued_cancel(ids, *, staff, now: datetime.datetime | None = None) -> int:
    """Cancel those of these messages that are still queued; returns how many."""
    now = now or timezone.now()
    note = _("Cancelled by %(staff)s at %(at)s.") % {"staff": staff, "at": now.isoformat(timespec="minutes")}
    return Notification.objects.filter(pk__in=list(ids), status__in=QUEUED).update(
        status=Status.CANCELLED, reason=Notification.Reason.BY_STAFF, detail=_note(note), updated_at=now
    )


def queued_send_now(ids, *, staff, now: datetime.datetime | None = None) -> int:
    """Make these queued messages due now (the policies still decide at send time); returns how many."""
    now = now or timezone.now()
    note = _("Send now asked by %(staff)s at %(at)s.") % {"staff": staff, "at": now.isoformat(timespec="minutes")}
    with transaction.atomic():
        rows = Notification.objects.filter(pk__in=list(ids), status__in=QUEUED)
        channels = set(rows.values_list("channel", flat=True))
        count = rows.update(status=Status.SCHEDULED, send_at=now, detail=_note(note), updated_at=now)
        if count:
            transaction.on_commit(lambda: kick_dispatcher(channels), robust=True)
    return count


def failed_resend(ids, *, staff, now: datetime.datetime | None = None) -> int:
    """Queue these failed messages once more, due now, with a fresh deadline; returns how many.

    The row keeps its idempotency key (and e-mail Message-ID): if the provider did take the
    message after all, the receiving side can tell it is the same one.
    """
    now = now or timezone.now()
    note = _("Resent by %(staff)s at %(at)s.") % {"staff": staff, "at": now.isoformat(timespec="minutes")}
    with transaction.atomic():
        rows = list(Notification.objects.filter(pk__in=list(ids), status=Status.FAILED).select_related("topic"))
        for row in rows:
            row.status, row.reason, row.send_at = Status.SCHEDULED, Notification.Reason.NONE, now
            row.deadline = now + datetime.timedelta(hours=row.topic.deadline_hours)
            row.detail = f"{row.detail}\n{note}".strip()
            row.updated_at = now
        Notification.objects.bulk_update(rows, ["status", "reason", "send_at", "deadline", "detail", "updated_at"])
        if rows:
            channels = {row.channel for row in rows}
            transaction.on_commit(lambda: kick_dispatcher(channels), robust=True)
    return len(rows)
