import logging

from celery import shared_task
from django.utils import timezone

logger = logging.getLogger(__name__)


@shared_task
def heartbeat_task() -> str:
    """Beat's liveness signal: shows in the worker log that beat and worker both run."""
    now = timezone.now().isoformat()
    logger.info("heartbeat %s", now)
    return now


@shared_task
def callback_reminders_task() -> int:
    from crm.services import callback_reminders_send

    return callback_reminders_send()
