"""Benchmark settings: the local settings on PostgreSQL, plus the peer outbox (django-post-office).

``DJANGO_SETTINGS_MODULE=bench.settings``. Both outboxes run in the same process on the same
database (BENCH_DATABASE_URL), and neither sends anything: the figures are each pipeline's own cost.
django-post-office comes from requirements-bench.txt, which the product itself does not need.
"""

import environ

from config.settings.env import env
from config.settings.local import *  # noqa: F403
from config.settings.local import INSTALLED_APPS, LOGGING

DEBUG = False
PUBLIC_BASE_URL = "https://crm.example.com"
CELERY_BROKER_URL = "memory://"  # tasks are called in-process; nothing is published to a broker
CELERY_BROKER_TRANSPORT_OPTIONS = {}

DATABASES = {
    "default": environ.Env.db_url_config(
        env("BENCH_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crm_bench")
    )
    | {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
}

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]

# Ours sends through backends that do nothing, like the peer's dummy backend below.
NOTIFICATION_BACKENDS = {
    "email": "notifications.delivery.channels.sms.NullChannel",
    "sms": "notifications.delivery.channels.sms.NullChannel",
    "postal": "notifications.delivery.channels.sms.NullChannel",
    "messenger": "notifications.delivery.channels.sms.NullChannel",
}

# The peer's best reasonable configuration for one sending process, so that its figure is its
# pipeline's cost and nothing else (figures: n=10k-50k on this 2-core machine, under other load):
POST_OFFICE = {
    # Django's dummy backend accepts every message and sends nothing (not even MIME encoding).
    "BACKENDS": {"default": "django.core.mail.backends.dummy.EmailBackend"},
    # Rows taken per round of send_queued(). The default is 100; every round re-reads and re-sorts
    # the whole queue and reconnects to the database, so bigger rounds are faster up to a plateau:
    # 100 ~1,900/s, 500 ~3,100/s, 1,000-2,000 ~3,500-4,500/s, 5,000 no better.
    "BATCH_SIZE": 1000,
    # Backend calls run in a thread pool (messages are prepared, and statuses written, in the calling
    # thread, so no query is missed either way). Its default 5 threads only help when the backend
    # waits on the network; with one that returns at once they are overhead (1 ~4,300/s, 5 ~3,400/s).
    "THREADS_PER_PROCESS": 1,
    # Log only failures (the default, 2, also writes a Log row for every message sent); ours keeps
    # the outcome on the message row itself, which post-office also does, so 1 is the like-for-like
    # choice (~5,400/s against ~4,100/s with 2).
    "LOG_LEVEL": 1,
    # SENDING_ORDER stays its default (-priority); no retries (its default too): the dummy backend never fails.
    "MAX_RETRIES": 0,
    # No Celery hand-off: the benchmark drives send_queued_mail_until_done() itself, in-process.
    "CELERY_ENABLED": False,
}

# Quiet: post-office otherwise installs its own INFO handler and prints a line for every batch.
LOGGING = {
    **LOGGING,
    "root": {**LOGGING["root"], "level": env("LOG_LEVEL", default="WARNING")},
    "loggers": {
        **LOGGING["loggers"],
        "post_office": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}
