"""The test suite: PostgreSQL (the production engine) and a real broker (Redis)."""

from config.settings.base import *  # noqa: F403
from config.settings.env import BASE_DIR, env

DATABASES = {
    "default": env.db("TEST_DATABASE_URL", default="postgres://postgres@127.0.0.1:5432/crm"),
}
DATABASES["default"]["TEST"] = {"NAME": env("TEST_DATABASE_NAME", default="test_crm")}
CELERY_BROKER_URL = env("TEST_CELERY_BROKER_URL", default="redis://127.0.0.1:6379/15")
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed, tests only
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
EMAIL_FILE_PATH = str(BASE_DIR / "var" / "test-outbox")
SECRET_KEY = "test-secret-key-not-for-production-0123456789abcdefghijklmnopqrstuv"
