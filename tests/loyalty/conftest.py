import pytest

from tests.crm.factories import StoreFactory


@pytest.fixture
def store(db):
    return StoreFactory(code="TLN-01")
