import datetime

import pytest
from django.core.cache import cache

from config import table_cache
from config.celery import app
from tests import clock
from tests.crm.factories import CustomerFactory, DistrictFactory, StoreFactory


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with empty caches: a rolled-back test sends no signal to clear what it cached."""
    table_cache.clear_all()
    cache.clear()
    yield
    table_cache.clear_all()
    cache.clear()


@pytest.fixture
def customer_factory(db):
    return CustomerFactory


@pytest.fixture
def store_factory(db):
    return StoreFactory


@pytest.fixture
def district_factory(db):
    return DistrictFactory


@pytest.fixture
def customer(customer_factory):
    return customer_factory()


@pytest.fixture
def staff_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def run_tasks_inline():
    """Celery tasks run in-process (eagerly); the real worker on the real broker is tested separately."""
    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


def pytest_addoption(parser):
    parser.addoption(
        "--now",
        default=None,
        help="Run the whole suite with the clock moved to this ISO-8601 instant (with an offset), ticking on; "
        "the Celery workers the tests start follow it. Tests that set their own time still win.",
    )


def pytest_configure(config):
    at = config.getoption("--now")
    if at:
        clock.travel(datetime.datetime.fromisoformat(at))


def pytest_report_header(config):
    at = config.getoption("--now")
    return f"clock moved to {at}" if at else None


def pytest_unconfigure(config):
    clock.stop()
