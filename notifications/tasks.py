"""Celery tasks: the top of notifications. Each takes ids, runs one piece of the work, retries.

The code that writes work (the outbox, stored inbound events) wakes these by name
(``config.celery.nudge``), so nothing below imports this module back.
"""

from celery import shared_task
from django.conf import settings

from config.celery import nudge
from notifications.delivery import dispatch
from notifications.delivery.channels import ProviderError
from notifications.greetings import greetings_send
from notifications.inbound.events import delivery_event_process
from notifications.inbound.replies import inbound_reply_send
from notifications.inbound.sweep import inbound_sweep
from notifications.scheduling.learning import send_times_learn
from notifications.triggers import behaviour_triggers_run


@shared_task
def dispatch_due_task() -> list[str]:
    """Beat, every few seconds: wake drainers for each channel that has rows due (or stranded)."""
    wanted = dispatch.drainers_wanted()
    for channel, drainers in wanted.items():
        for _ in range(drainers):
            nudge(drain_task.name, channel)
    return sorted(wanted)


@shared_task
def drain_task(channel: str | None = None) -> dict:
    """Claim, send and record batch after batch of one channel's due rows, for a bounded time.

    Rows left when the time is up wait for the next wake-up; rows of a worker that died are
    claimed again when their lease runs out.
    """
    return dispatch.drain(channel=channel, max_seconds=settings.NOTIFICATION_DRAIN_SECONDS)


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def process_delivery_event_task(self, event_id: int) -> None:
    delivery_event_process(event_id)


@shared_task(bind=True, max_retries=5)
def send_inbound_reply_task(self, inbound_id: int) -> bool:
    try:
        return inbound_reply_send(inbound_id)
    except ProviderError as exc:
        if exc.permanent:
            return False
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 4)) from exc


@shared_task
def inbound_sweep_task() -> dict:
    """Beat, every minute: process stored delivery events and replies that no task processed."""
    return inbound_sweep()


@shared_task
def learn_send_times_task() -> dict:
    """Beat, daily: the send-time priors, each customer's learned hour and weekday, topics they ignore."""
    return send_times_learn()


@shared_task
def greetings_task() -> int:
    """Beat, hourly: birthday and holiday greetings where the day has begun (the tier's gift with them)."""
    return greetings_send()


@shared_task
def behaviour_triggers_task() -> dict[str, int]:
    """Beat, every few hours: purchase-cycle reminders, re-engagement, regular contact (set-based)."""
    return behaviour_triggers_run()
