from django.db import connection
from django.urls import reverse

import config.health


def test_healthz_ok_when_database_and_broker_answer(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "status": "ok"}


def test_healthz_503_names_the_broker(client, db, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok"
    assert body["broker"].startswith("unreachable")
    assert body["status"] == "unavailable: broker"


def test_healthz_503_names_the_database(client, db, monkeypatch):
    unreachable = type(connection)({**connection.settings_dict, "PORT": "1"}, alias="unreachable")
    monkeypatch.setattr(config.health, "connection", unreachable)
    response = client.get(reverse("healthz"))
    assert response.status_code == 503
    assert response.json()["database"].startswith("unreachable")
    assert response.json()["status"] == "unavailable: database"
