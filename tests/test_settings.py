import os
import subprocess
import sys

from django.conf import settings

from config.celery import app
from config.settings.env import BASE_DIR


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_settings_pass_check_deploy():
    result = _manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_SETTINGS_MODULE="config.settings.production",
        SECRET_KEY="x9!" + "k2#Lq7@Vm" * 6,
        ALLOWED_HOSTS="crm.example.com",
        PUBLIC_BASE_URL="https://crm.example.com",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.production", "ALLOWED_HOSTS": "x"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_local_defaults_need_no_server():
    result = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL)",
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DATABASE_URL="",
        CELERY_BROKER_URL="",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].split() == ["django.db.backends.sqlite3", "filesystem://"]


def test_celery_is_configured_for_reliability():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.task_serializer == "json" and app.conf.accept_content == ["json"]
    assert app.conf.broker_transport_options["visibility_timeout"] >= 600
    assert settings.CELERY_BEAT_SCHEDULER == "django_celery_beat.schedulers:DatabaseScheduler"


def test_each_kind_of_work_has_its_queue():
    """Sending, inbound processing and housekeeping are routed apart, so production runs each on its own
    workers (deploy/Procfile) and a backlog of one never delays the others."""
    from notifications import tasks

    def queue(task):
        return app.amqp.router.route({}, task.name)["queue"].name

    assert {queue(tasks.drain_task), queue(tasks.dispatch_due_task)} == {"dispatch"}
    assert {queue(tasks.process_delivery_event_task), queue(tasks.inbound_sweep_task)} == {"inbound"}
    assert queue(tasks.learn_send_times_task) == "maintenance"
    assert {q.name for q in app.conf.task_queues} == {"dispatch", "inbound", "maintenance"}
    procfile = (BASE_DIR / "deploy" / "Procfile").read_text()
    for name in ("dispatch", "inbound", "maintenance"):
        assert f"-Q {name} " in procfile
    assert "gunicorn config.wsgi" in procfile and procfile.count("celery -A config beat") == 1


def test_a_worker_loads_the_urlconf_and_freezes_it_before_its_first_task():
    import gc

    from celery.signals import worker_init
    from django.urls import get_resolver

    from config.celery import warm_up

    assert any(receiver() is warm_up for _key, receiver in worker_init.receivers)
    try:
        warm_up()
        assert get_resolver()._populated  # the first message's links need no import
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
