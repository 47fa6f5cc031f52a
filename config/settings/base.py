"""Settings shared by every environment. Everything deployment-specific comes from the environment."""

import datetime
from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _
from kombu import Queue

from config.settings.env import BASE_DIR, VAR_DIR, env

SECRET_KEY = env("SECRET_KEY", default="django-insecure-local-development-key-change-me")
DEBUG = env.bool("DEBUG", default=False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "crm.admin_apps.StaffAdminConfig",  # django.contrib.admin, its site with the staff dashboard
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_celery_beat",
    "phonenumber_field",
    "anymail",
    "crispy_forms",
    "crispy_bootstrap5",
    "import_export",
    "crm",
    "loyalty",
    "notifications",
    "surveys",
    "campaigns",
    "privacy",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the app server (compressed, cached forever by hashed name in production).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Admin pages in the staff member's own time zone (crm.zones).
    "crm.middleware.StaffTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
# Default: a SQLite file in the project, so `make run` needs no server. Production and the test
# suite use PostgreSQL through DATABASE_URL.
DATABASES = {
    "default": environ.Env.db_url_config(env("DATABASE_URL", default="") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share the file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions take the write lock up front instead of failing mid-transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A health check costs each request a round trip (SELECT 1) before its first query; without it,
    # the first request on a connection the database dropped fails once (a till retries it safely).
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
    # Behind PgBouncer in transaction pooling: CONN_MAX_AGE=0 and DATABASE_DISABLE_SERVER_SIDE_CURSORS=true
    # (a server-side cursor cannot outlive the transaction PgBouncer lends the connection for).
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = env.bool(
        "DATABASE_DISABLE_SERVER_SIDE_CURSORS", default=False
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Internationalisation and time ------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("et", _("Estonian")),
    ("fi", _("Finnish")),
    ("ru", _("Russian")),
    ("sv", _("Swedish")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"  # storage and server time; customers' own zones are computed per customer
# The zone given to a customer created without one (e.g. by the POS or an import).
DEFAULT_CUSTOMER_TIME_ZONE = env("DEFAULT_CUSTOMER_TIME_ZONE", default="Europe/Tallinn")

# Local numbers ("5123 4567") are read as numbers of this region; stored as E.164.
DEFAULT_PHONE_REGION = env("DEFAULT_PHONE_REGION", default="EE")
PHONENUMBER_DEFAULT_REGION = DEFAULT_PHONE_REGION
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"

# A shared cache (e.g. redis://127.0.0.1:6379/1) makes the public pages' rate limits global.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}
PUBLIC_PAGES_RATE_PER_MINUTE = env.int("PUBLIC_PAGES_RATE_PER_MINUTE", default=60)
# Tiers, earning rules, topics and POS keys are kept per process this long (config/table_cache.py):
# a change in the admin, a revoked POS key included, reaches every process within this time.
TABLE_CACHE_SECONDS = env.int("TABLE_CACHE_SECONDS", default=30)
# And per link: caps one link hammered from many addresses (above what retrying mailbox providers send).
PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE = env.int("PUBLIC_PAGES_RATE_PER_TOKEN_PER_MINUTE", default=60)

# --- Admin login limit (django-axes) ----------------------------------------------------------
# Failed logins are counted per username and client address together (one attacker cannot lock a
# colleague out from elsewhere); the lock lifts after the cool-off or when an administrator deletes
# the attempt under Axes → Access attempts in the admin. The address is read like the public pages'
# rate limit reads it, so both follow one proxy setup.
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: it turns a lockout into the lockout page
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out login before any password check
    # Django's ModelBackend, with the user's staff profile read in the same query (its time zone).
    "crm.auth.StaffBackend",
]
AXES_ENABLED = env.bool("AXES_ENABLED", default=True)
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ADMIN = False  # crm/admin.py registers axes' pages, its clean-up action behind the delete permission
AXES_CLIENT_IP_CALLABLE = "crm.links.ratelimit.client_ip"
AXES_LOCKOUT_CALLABLE = "crm.login_limit.lockout_response"  # the admin-styled page, admin/login_locked.html

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"  # collectstatic's output, served by WhiteNoise
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise warns on every request about a missing one
STATICFILES_DIRS = [BASE_DIR / "static"]

# --- Import and export in the admin (django-import-export; crm/admin_transfer.py) ---------------
# Each ModelAdmin names the permissions its import and export need; these codes are the fallback
# for an admin that names none (then: nobody but a superuser).
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
# Every import runs in a transaction: its dry run is rolled back, and a failing confirmed run too.
IMPORT_EXPORT_USE_TRANSACTIONS = True
IMPORT_EXPORT_SKIP_ADMIN_CONFIRM = False

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Brand identity: every message names the sender and says how to reach it ------------------
BRAND_NAME = env("BRAND_NAME", default="Corner Shop")
BRAND_SENDER_EMAIL = env("BRAND_SENDER_EMAIL", default="hello@cornershop.example")
BRAND_SMS_SENDER_ID = env("BRAND_SMS_SENDER_ID", default="CornerShop")  # alphanumeric, <= 11 chars
BRAND_CONTACT_PHONE = env("BRAND_CONTACT_PHONE", default="+372 600 0000")
BRAND_CONTACT_EMAIL = env("BRAND_CONTACT_EMAIL", default="support@cornershop.example")
BRAND_COLOR = env("BRAND_COLOR", default="#0f766e")  # the e-mail's header band and links
# Printed on letters: where a customer can write to stop them (a SenderIdentity per country/store overrides).
BRAND_POSTAL_OPTOUT_ADDRESS = env(
    "BRAND_POSTAL_OPTOUT_ADDRESS", default="Corner Shop customer care, Pikk 1, 10123 Tallinn, Estonia"
)
# Absolute base of links put into messages (unsubscribe, preference centre, surveys).
# Locally it follows WEB_PORT, as `make run` does; with DEBUG off it must be https:// (a system check says so).
PUBLIC_BASE_URL = env("PUBLIC_BASE_URL", default=f"http://localhost:{env('WEB_PORT', default='8000')}")
# Where `manage.py ensure_superuser` keeps the generated staff password of a local run.
ADMIN_PASSWORD_FILE = VAR_DIR / "admin-password"

# --- E-mail ---------------------------------------------------------------------------------
# Any django-anymail ESP works by setting EMAIL_BACKEND (e.g. anymail.backends.mailgun.EmailBackend)
# and ANYMAIL; the default writes messages to files that staff can read.
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = env("EMAIL_FILE_PATH", default=str(VAR_DIR / "outbox"))
DEFAULT_FROM_EMAIL = f"{BRAND_NAME} <{BRAND_SENDER_EMAIL}>"
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# ESP settings as JSON; ANYMAIL_WEBHOOK_SECRET ("user:password") guards the tracking webhooks.
ANYMAIL = {"WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET", default="")} | env.json("ANYMAIL", default={})

# --- Celery ---------------------------------------------------------------------------------
# Default broker: kombu's filesystem transport, which needs no server. Redis and RabbitMQ URLs
# (redis://..., amqp://...) work unchanged.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="") or "filesystem://"
BROKER_DATA_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DATA_DIR / "queue"),
        "data_folder_out": str(BROKER_DATA_DIR / "queue"),
        "processed_folder": str(BROKER_DATA_DIR / "processed"),
        "control_folder": str(BROKER_DATA_DIR / "control"),  # kombu's default is ./control in the cwd
        "store_processed": False,
    }
    # kombu does not create its folders: without them every task sent (e.g. by a sale) fails.
    # Creating them here means any process (web, worker, beat, a command) works on a fresh clone.
    for _folder in ("queue", "processed", "control"):
        (BROKER_DATA_DIR / _folder).mkdir(parents=True, exist_ok=True)
else:
    # A task not acknowledged within this many seconds is redelivered (Redis); it must exceed
    # the longest task, or tasks run twice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = None  # tasks record their outcome in the database, not in a result store
CELERY_TASK_IGNORE_RESULT = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
# Acknowledge after the task ran, and requeue when the worker dies: tasks are idempotent.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# Three queues, so each kind of work gets its own workers in production (deploy/Procfile) and a
# backlog of one never delays the others: sending, what providers and customers send back, and
# the periodic housekeeping. A worker started without -Q consumes all three (make run).
CELERY_TASK_QUEUES = (Queue("dispatch"), Queue("inbound"), Queue("maintenance"))
CELERY_TASK_DEFAULT_QUEUE = "maintenance"
CELERY_TASK_ROUTES = {
    "notifications.tasks.dispatch_due_task": {"queue": "dispatch"},
    "notifications.tasks.drain_task": {"queue": "dispatch"},
    "notifications.tasks.process_delivery_event_task": {"queue": "inbound"},
    "notifications.tasks.send_inbound_reply_task": {"queue": "inbound"},
    "notifications.tasks.inbound_sweep_task": {"queue": "inbound"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
DJANGO_CELERY_BEAT_TZ_AWARE = True

# The fixed, small set of beat jobs: `manage.py beat_sync` creates the missing ones and leaves
# the existing ones as staff edited them in the admin. Per-customer timing lives in the database.
BEAT_JOBS = {
    "heartbeat": {"task": "crm.tasks.heartbeat_task", "every_seconds": 60},
    "expire bonus lots": {"task": "loyalty.tasks.expire_lots_task", "every_seconds": 15 * 60},
    "warn before bonus expiry": {"task": "loyalty.tasks.warn_expiring_task", "every_seconds": 60 * 60},
    "birthday and holiday greetings": {
        "task": "notifications.tasks.greetings_task",
        "every_seconds": 60 * 60,
        "description": "Early on the day in each customer's zone; a gift where the tier offers one.",
    },
    "recount rolling-year spend and tiers": {
        "task": "loyalty.tasks.rolling_year_recount_task",
        "every_seconds": 24 * 60 * 60,
        "description": "Purchases keep each account's 12-month spend and tier up to date; this drops what aged out.",
    },
    "behaviour triggers": {
        "task": "notifications.tasks.behaviour_triggers_task",
        "every_seconds": 6 * 60 * 60,
        "description": "Purchase-cycle reminders, re-engagement after a silence, regular contact.",
    },
    "dispatch due notifications": {"task": "notifications.tasks.dispatch_due_task", "every_seconds": 5},
    "process stored inbound events": {"task": "notifications.tasks.inbound_sweep_task", "every_seconds": 60},
    "learn send times": {"task": "notifications.tasks.learn_send_times_task", "every_seconds": 24 * 60 * 60},
    "callback reminders": {"task": "crm.tasks.callback_reminders_task", "every_seconds": 60},
    "prune old delivery events and message bodies": {
        "task": "privacy.tasks.retention_prune_task",
        "every_seconds": 24 * 60 * 60,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Loyalty programme --------------------------------------------------------------------------
LOYALTY_BASE_CURRENCY = "EUR"
# Purchases in other currencies are converted to the base currency for points and tier spend.
LOYALTY_EXCHANGE_RATES = env.json("LOYALTY_EXCHANGE_RATES", default={"EUR": "1", "SEK": "0.087", "RUB": "0.0105"})
LOYALTY_POINTS_PER_UNIT = env("LOYALTY_POINTS_PER_UNIT", default="1")  # base rate when no tier applies
LOYALTY_POINTS_VALID_MONTHS = env.int("LOYALTY_POINTS_VALID_MONTHS", default=12)
LOYALTY_GIFT_VALID_DAYS = env.int("LOYALTY_GIFT_VALID_DAYS", default=90)
LOYALTY_EXPIRY_WARNING_DAYS = env.list("LOYALTY_EXPIRY_WARNING_DAYS", cast=int, default=[30, 7])
LOYALTY_BIRTHDAY_GIFT_POINTS = env.int("LOYALTY_BIRTHDAY_GIFT_POINTS", default=100)
# The POS may post a sale late (an offline till catching up), but not older than this; staff enter older ones.
LOYALTY_BACKDATE_DAYS = env.int("LOYALTY_BACKDATE_DAYS", default=30)
LOYALTY_TIME_ZONE = env("LOYALTY_TIME_ZONE", default="Europe/Tallinn")  # month ends for expiry
# Failed POS API authentications from one address before it is locked out, and for how long.
LOYALTY_POS_AUTH_FAILURE_LIMIT = env.int("LOYALTY_POS_AUTH_FAILURE_LIMIT", default=20)
LOYALTY_POS_AUTH_LOCKOUT_MINUTES = env.int("LOYALTY_POS_AUTH_LOCKOUT_MINUTES", default=15)

# --- Notifications ---------------------------------------------------------------------------------
# Hard limits per channel in the customer's local time, whatever the customer asked: never wake anyone.
NOTIFICATION_QUIET_HOURS = {"sms": ("08:00", "21:00"), "messenger": ("08:00", "21:00"), "email": None, "postal": None}
# Behaviour triggers (notifications.triggers): a silence this long earns one "we miss you"; a
# consenting customer who heard nothing counted for this long gets an account summary.
REENGAGE_AFTER_WEEKS = env.int("REENGAGE_AFTER_WEEKS", default=8)
CONTACT_CADENCE_WEEKS = env.int("CONTACT_CADENCE_WEEKS", default=4)
NOTIFICATION_DEFAULT_WINDOW = ("09:00", "20:00")  # a customer's window when they did not choose one
NOTIFICATION_DEFAULT_MAX_PER_WEEK = {"email": 2, "sms": 1, "messenger": 2, "postal": 1}
# Across every channel, for messages that count against the caps (service messages do not): at least
# this long between two contacts, and at most this many contacts a week (a customer's own answer,
# Preference.max_per_week["all"] or their per-channel answers, may lower it).
NOTIFICATION_CONTACT_MIN_SPACING_HOURS = env.float("NOTIFICATION_CONTACT_MIN_SPACING_HOURS", default=4)
NOTIFICATION_CONTACT_MAX_PER_WEEK = env.int("NOTIFICATION_CONTACT_MAX_PER_WEEK", default=4)
NOTIFICATION_LEASE_SECONDS = env.int("NOTIFICATION_LEASE_SECONDS", default=300)
NOTIFICATION_BATCH_SIZE = env.int("NOTIFICATION_BATCH_SIZE", default=250)  # rows per claim, and per batch re-check
# A drainer whose batches go quickly (a provider that answers at once) claims more rows at a time,
# as many as it delivers in NOTIFICATION_BATCH_SECONDS, up to NOTIFICATION_BATCH_MAX: each batch
# costs a fixed number of queries, so bigger batches are cheaper per message. A slow provider
# keeps NOTIFICATION_BATCH_SIZE, so a backlog still spreads over every drainer.
NOTIFICATION_BATCH_MAX = env.int("NOTIFICATION_BATCH_MAX", default=1000)
NOTIFICATION_BATCH_SECONDS = env.float("NOTIFICATION_BATCH_SECONDS", default=0.5)
# While a slow provider is being called, outcomes are written at least this often (a crash
# re-sends at most this much, under the same idempotency keys).
NOTIFICATION_RECORD_SECONDS = env.float("NOTIFICATION_RECORD_SECONDS", default=1.0)
# Drainers beat wakes per channel with a backlog: match the Celery worker's concurrency.
NOTIFICATION_DRAINERS_PER_CHANNEL = env.int("NOTIFICATION_DRAINERS_PER_CHANNEL", default=2)
NOTIFICATION_DRAIN_SECONDS = env.float("NOTIFICATION_DRAIN_SECONDS", default=50)  # one drain task's time budget
NOTIFICATION_MAX_ATTEMPTS = 5
# Dotted paths of channel backends; e-mail goes through Django's mail API (so any anymail ESP works).
NOTIFICATION_BACKENDS = {
    "email": "notifications.delivery.channels.email.EmailChannel",
    "sms": env("SMS_BACKEND", default="notifications.delivery.channels.sms.FileSmsChannel"),
    "postal": "notifications.delivery.channels.postal.LetterBatchChannel",
    "messenger": "notifications.delivery.channels.messenger.MessengerChannel",
}
MESSENGER_TIMEOUT_SECONDS = env.float("MESSENGER_TIMEOUT_SECONDS", default=10)
TELEGRAM_BOT_TOKEN = env("TELEGRAM_BOT_TOKEN", default="")
TELEGRAM_BOT_USERNAME = env("TELEGRAM_BOT_USERNAME", default="")  # for t.me deep links
TELEGRAM_WEBHOOK_SECRET = env("TELEGRAM_WEBHOOK_SECRET", default="")  # X-Telegram-Bot-Api-Secret-Token
TELEGRAM_LINK_VALID_HOURS = 24
WHATSAPP_TOKEN = env("WHATSAPP_TOKEN", default="")
WHATSAPP_PHONE_NUMBER_ID = env("WHATSAPP_PHONE_NUMBER_ID", default="")
WHATSAPP_APP_SECRET = env("WHATSAPP_APP_SECRET", default="")  # checks the webhook's X-Hub-Signature-256
WHATSAPP_VERIFY_TOKEN = env("WHATSAPP_VERIFY_TOKEN", default="")  # answers Meta's subscription check
WHATSAPP_API_VERSION = env("WHATSAPP_API_VERSION", default="v21.0")
LETTER_FONT_PATH = env("LETTER_FONT_PATH", default="/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(VAR_DIR / "sms"))
SMS_TIMEOUT_SECONDS = env.float("SMS_TIMEOUT_SECONDS", default=10)
# SMS_BACKEND=notifications.delivery.channels.twilio.TwilioSmsChannel sends through Twilio with these:
TWILIO_ACCOUNT_SID = env("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env("TWILIO_AUTH_TOKEN", default="")  # also verifies Twilio's webhook signatures
TWILIO_FROM = env("TWILIO_FROM", default="")  # default: the alphanumeric BRAND_SMS_SENDER_ID

# --- Privacy ---------------------------------------------------------------------------------------
# Provider delivery events, and the texts of finished messages and processed replies, are kept this long.
RETENTION_DELIVERY_EVENTS_DAYS = env.int("RETENTION_DELIVERY_EVENTS_DAYS", default=400)
RETENTION_MESSAGE_BODIES_DAYS = env.int("RETENTION_MESSAGE_BODIES_DAYS", default=400)
