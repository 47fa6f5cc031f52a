"""The Celery app: configured from Django settings (``CELERY_*``), tasks autodiscovered."""

import gc
import logging
import os

from celery import Celery
from celery.signals import worker_init

logger = logging.getLogger(__name__)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def nudge(task_name: str, *args) -> bool:
    """Send the task registered as ``task_name`` if the broker answers; otherwise log and carry on.

    For wake-ups whose work is already durable in the database (outbox rows, stored events):
    beat's periodic jobs pick the work up anyway, so a broker outage must never fail the request
    or skip the on-commit hooks after it.

    The task is named, not imported: the code that writes the work stays below the tasks module,
    which imports it to run it. It is looked up when called, so ``task_always_eager`` still holds;
    an unknown name is a programming error and raises.
    """
    task = app.tasks[task_name]
    try:
        task.apply_async(args=args, retry=False)
    except Exception:  # any transport error: the broker is down, full or misconfigured
        logger.warning("broker unavailable; %s left for beat to pick up", task_name, exc_info=True)
        return False
    return True


@worker_init.connect
def warm_up(**kwargs) -> None:
    """What a worker loads once before its first task (before forking its pool, which inherits it).

    The message links are reversed through the URLconf, whose first use imports every app's views
    and the API (a few hundred milliseconds): paid here, not by the first batch of messages. Then,
    as the web processes do (deploy/gunicorn.conf.py), what is loaded is frozen out of the cycle
    collector's reach, so its collections walk only what tasks make.
    """
    from django.urls import get_resolver

    get_resolver().reverse_dict  # noqa: B018 - imports the URLconf and builds what reverse() reads
    gc.freeze()
