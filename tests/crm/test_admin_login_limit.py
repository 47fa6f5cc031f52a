"""The admin login is locked after repeated failures (django-axes), per username and address together."""

import datetime

import pytest
import time_machine
from axes.models import AccessAttempt
from django.conf import settings as project_settings
from django.test import Client

from config.settings import base

LOGIN = "/admin/login/?next=/admin/"
START = datetime.datetime(2026, 5, 4, 2, 15, tzinfo=datetime.UTC)
ATTACKER = "203.0.113.9"


@pytest.fixture
def limited(settings, admin_user):
    settings.AXES_ENABLED = True  # the test settings switch it off for Django's request-less client.login()
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_COOLOFF_TIME = datetime.timedelta(minutes=30)
    return admin_user


def attempt(client: Client, password: str, ip: str = ATTACKER):
    return client.post(LOGIN, {"username": "admin", "password": password}, REMOTE_ADDR=ip)


def logged_in(client: Client) -> bool:
    return client.get("/admin/").status_code == 200


def test_production_settings_limit_admin_logins():
    assert base.AXES_ENABLED and base.AXES_FAILURE_LIMIT == 5
    assert base.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert base.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert project_settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]


def test_five_wrong_passwords_lock_the_login_even_for_the_right_one(limited):
    client = Client()
    with time_machine.travel(START, tick=False) as clock:
        statuses = [attempt(client, f"guess-{n}").status_code for n in range(5)]
        assert statuses == [200, 200, 200, 200, 429]
        locked = attempt(client, "password")
        assert locked.status_code == 429 and not logged_in(client)
        page = locked.content.decode()
        assert "Too many failed logins" in page and "after 5 failed attempts" in page
        assert "30 minutes after your last attempt" in page
        assert locked["Retry-After"] == "1800"
        # The same account from another address is not locked: an attacker cannot lock staff out.
        colleague = Client()
        assert attempt(colleague, "password", ip="198.51.100.20").status_code == 302 and logged_in(colleague)
        # After the cool-off the right password works again from the locked address.
        clock.shift(datetime.timedelta(minutes=29))
        assert attempt(client, "password").status_code == 429
        clock.shift(datetime.timedelta(minutes=31))
        assert attempt(client, "password").status_code == 302 and logged_in(client)


def test_fewer_failures_than_the_limit_do_not_lock(limited):
    client = Client()
    for n in range(4):
        attempt(client, f"guess-{n}")
    assert attempt(client, "password").status_code == 302 and logged_in(client)
    assert not AccessAttempt.objects.filter(username="admin").exists()  # a success clears the count


def test_administrators_see_and_lift_lockouts_in_the_admin(limited, admin_client):
    client = Client()
    for n in range(5):
        attempt(client, f"guess-{n}")
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and ATTACKER in listing.content.decode()
    AccessAttempt.objects.filter(username="admin", ip_address=ATTACKER).delete()  # what the admin's delete does
    assert attempt(client, "password").status_code == 302 and logged_in(client)
    log = admin_client.get("/admin/axes/accesslog/")
    assert log.status_code == 200 and ATTACKER in log.content.decode()
