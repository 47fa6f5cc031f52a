import pytest

from config.celery import app
from tests.crm.factories import CustomerFactory, DistrictFactory, StoreFactory


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
