"""What a newcomer meets on a fresh clone: the embedded defaults (SQLite, filesystem broker) work
with no folder made by hand, a broker outage never fails a sale, and tests leave the checkout alone."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.settings.env import BASE_DIR
from tests import clock

# A sale posted through the real URLconf on a brand-new SQLite database, as `manage.py runserver` would serve it.
SALE = """
import datetime
import json
from tests import clock
clock.follow_parent()
from django.core.management import call_command
from django.test import Client
from crm.models import District, Store, Customer
from loyalty.models import PosApiKey, hash_api_key
from notifications.models import Notification, Preference

call_command("migrate", verbosity=0)
district = District.objects.create(name="Kesklinn", country="EE")
store = Store.objects.create(code="EE-TLN-01", name="Tallinn", district=district)
customer = Customer.objects.create(external_id="CARD-1", email="mari@example.ee", time_zone="Europe/Tallinn")
# E-mail (no quiet hours) in a window open all day: the outcome does not depend on the hour the test runs.
Preference.objects.create(customer=customer, window_start=datetime.time(0), window_end=datetime.time(23, 59))
raw = PosApiKey.generate()
PosApiKey.objects.create(store=store, prefix=raw[:12], key_hash=hash_api_key(raw))
response = Client(HTTP_HOST="localhost").post(
    "/api/v1/purchases/",
    data=json.dumps({"customer": {"external_id": "CARD-1"}, "receipt_id": "R1", "amount": "25.90", "currency": "EUR"}),
    content_type="application/json",
    headers={"Authorization": "Bearer " + raw, "Idempotency-Key": "k1"},
)
print(json.dumps({"status": response.status_code, "body": response.json(),
                  "notifications": Notification.objects.count()}))
"""


def _fresh_run(tmp_path: Path, script: str, **env) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.local",
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": "",
        "CELERY_BROKER_URL": "",
        "DEBUG": "true",
        **clock.subprocess_env(),
        **env,
    }
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-c", script],
        cwd=tmp_path,  # kombu's filesystem transport used to drop a ./control folder into the cwd
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_sale_on_a_fresh_clone_works_without_any_folder_made_by_hand(tmp_path):
    result = _fresh_run(tmp_path, SALE)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 201, outcome
    assert outcome["body"]["points_earned"] == 25 and outcome["notifications"] >= 1
    queue = tmp_path / "var" / "broker" / "queue"
    assert queue.is_dir() and any(queue.iterdir()), "the dispatcher's wake-up should be on the filesystem broker"
    assert not (tmp_path / "control").exists(), "kombu's control folder belongs under VAR_DIR/broker"


# What beat and a worker do once the broker is back: beat's job wakes the drainers, which deliver.
BEAT_TICK = """
import json
from tests import clock
clock.follow_parent()
from config.celery import app
from notifications.models import Notification
from notifications.tasks import dispatch_due_task

app.conf.task_always_eager = True  # the worker's part, in this process
dispatch_due_task()
print(json.dumps(dict(Notification.objects.values_list("topic__code", "status"))))
"""


def test_a_broker_outage_never_fails_a_sale_and_the_message_goes_once_it_is_back(tmp_path):
    result = _fresh_run(tmp_path, SALE, CELERY_BROKER_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["status"] == 201, outcome
    assert outcome["notifications"] >= 1  # the message waits in the outbox for beat
    assert "left for beat" in result.stderr

    back = _fresh_run(tmp_path, BEAT_TICK)  # the embedded broker answers again
    assert back.returncode == 0, back.stderr
    assert json.loads(back.stdout.strip().splitlines()[-1])["bonus-credited"] == "sent"


def test_the_test_run_writes_only_into_a_temporary_folder():
    checkout_var = (BASE_DIR / "var").resolve()
    for name in (
        "VAR_DIR",
        "EMAIL_FILE_PATH",
        "SMS_FILE_PATH",
        "ADMIN_PASSWORD_FILE",
        "BROKER_DATA_DIR",
        "STATIC_ROOT",
    ):
        path = Path(getattr(settings, name)).resolve()
        assert not path.is_relative_to(BASE_DIR), f"{name}={path} is inside the checkout"
    assert Path(settings.VAR_DIR).resolve() != checkout_var


def test_ensure_superuser_keeps_its_password_in_var_dir(db, monkeypatch, capsys):
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    monkeypatch.setenv("ADMIN_USERNAME", "owner")
    from django.core.management import call_command

    call_command("ensure_superuser")
    password = Path(settings.ADMIN_PASSWORD_FILE).read_text().strip()
    assert f"password: {password}" in capsys.readouterr().out
    assert Path(settings.ADMIN_PASSWORD_FILE).is_relative_to(settings.VAR_DIR)


@pytest.mark.parametrize(
    ("env", "expected"),
    [({"WEB_PORT": "8123"}, "http://localhost:8123"), ({}, "http://localhost:8000")],
)
def test_links_follow_web_port_locally(tmp_path, env, expected):
    script = "from django.conf import settings; print(settings.PUBLIC_BASE_URL)"
    environment = {k: v for k, v in os.environ.items() if k not in ("WEB_PORT", "PUBLIC_BASE_URL")}
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-c", script],
        cwd=tmp_path,
        env={**environment, "DJANGO_SETTINGS_MODULE": "config.settings.local", "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


def test_plain_http_public_url_without_debug_is_a_start_up_error(tmp_path):
    result = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "check"],
        cwd=tmp_path,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.local",
            "VAR_DIR": str(tmp_path),
            "DEBUG": "false",
            "PUBLIC_BASE_URL": "http://shop.example.com",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "notifications.E002" in result.stderr and "PUBLIC_BASE_URL=https://" in result.stderr
