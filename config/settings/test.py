"""The test suite: PostgreSQL (the production engine) and a real broker (Redis).

Every file a test run writes goes to a temporary folder (VAR_DIR), never into the checkout's var/,
which belongs to `make run`. Processes the tests start (Celery workers, manage.py) inherit it.
"""

import atexit
import os
import shutil
import tempfile

if "VAR_DIR" not in os.environ:
    os.environ["VAR_DIR"] = tempfile.mkdtemp(prefix="crm-tests-")
    atexit.register(shutil.rmtree, os.environ["VAR_DIR"], True)

from config.settings.base import *  # noqa: F403
from config.settings.env import VAR_DIR, env

DATABASES = {
    "default": env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crm"),
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_crm")}
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, tests only
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuv"
PUBLIC_BASE_URL = "https://crm.example.com"
# The Celery-worker tests run a real worker process and read what it sent from files.
EMAIL_BACKEND = env("TEST_EMAIL_BACKEND", default="django.core.mail.backends.locmem.EmailBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "test-outbox")
NOTIFICATION_BACKENDS = {
    "email": env("TEST_EMAIL_CHANNEL", default="notifications.delivery.channels.email.EmailChannel"),
    "sms": env("TEST_SMS_BACKEND", default="notifications.delivery.channels.sms.MemorySmsChannel"),
    "postal": "notifications.delivery.channels.postal.LetterBatchChannel",
    "messenger": "notifications.delivery.channels.messenger.MessengerChannel",
}
TELEGRAM_BOT_TOKEN = "123456:TEST"
TELEGRAM_BOT_USERNAME = "CornerShopBot"
TELEGRAM_WEBHOOK_SECRET = "telegram-webhook-secret"
WHATSAPP_TOKEN = "wa-token"
WHATSAPP_PHONE_NUMBER_ID = "1098765"
WHATSAPP_APP_SECRET = "whatsapp-app-secret"
WHATSAPP_VERIFY_TOKEN = "whatsapp-verify"
SMS_FILE_PATH = str(VAR_DIR / "test-sms")
NOTIFICATION_LEASE_SECONDS = env.int("NOTIFICATION_LEASE_SECONDS", default=300)
# Django's test client logs in without a request, which the login limit needs; the tests that
# exercise the limit switch it on (tests/crm/test_admin_login_limit.py).
AXES_ENABLED = False
