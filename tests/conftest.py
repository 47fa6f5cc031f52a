import pytest

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
