"""config.sql: the ``__any`` lookup selects what ``__in`` does, with one array parameter."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from crm.models import Customer
from tests.crm.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_any_selects_what_in_selects_with_one_parameter():
    customers = CustomerFactory.create_batch(5)
    wanted = {customers[0].pk, customers[3].pk, 10**12}  # a set, and an id that does not exist
    with CaptureQueriesContext(connection) as queries:
        found = set(Customer.objects.filter(pk__any=wanted).values_list("pk", flat=True))
    assert found == set(Customer.objects.filter(pk__in=wanted).values_list("pk", flat=True)) == wanted - {10**12}
    assert "= ANY(" in queries.captured_queries[0]["sql"]
    assert "IN (" not in queries.captured_queries[0]["sql"]


def test_any_works_on_text_and_on_foreign_keys_and_with_no_values():
    from notifications.models import Preference

    first, second = CustomerFactory.create_batch(2)
    Preference.objects.create(customer=first)
    assert list(Customer.objects.filter(email__any=[second.email]).values_list("pk", flat=True)) == [second.pk]
    assert list(
        Preference.objects.filter(customer_id__any=[first.pk, second.pk]).values_list("customer_id", flat=True)
    ) == [first.pk]
    assert not Customer.objects.filter(pk__any=[]).exists()
