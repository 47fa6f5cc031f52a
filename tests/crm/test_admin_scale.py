"""Counting a changelist at millions of rows: the planner's estimate for long lists, exact for short ones."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import admin_scale
from crm.admin_scale import EstimatedCountPaginator, estimated_row_count
from crm.models import Customer


@pytest.fixture
def forty(customer_factory):
    customers = customer_factory.create_batch(37) + customer_factory.create_batch(3, last_name="Tamm")
    with connection.cursor() as cursor:
        # Autovacuum may not touch the table during the test (it would count only committed rows) ...
        cursor.execute("LOCK TABLE crm_customer IN SHARE UPDATE EXCLUSIVE MODE")
        # ... and the statistics are what it would gather: the planner now knows there are 40.
        cursor.execute("ANALYZE crm_customer")
    return customers


def paginator(queryset, exact_up_to):
    paginator = EstimatedCountPaginator(queryset.order_by("-pk"), 10)
    paginator.exact_up_to = exact_up_to
    return paginator


def test_a_long_list_shows_the_planners_estimate_and_counts_nothing(forty):
    long = paginator(Customer.objects.all(), exact_up_to=20)
    with CaptureQueriesContext(connection) as captured:
        assert long.count == 40 and long.num_pages == 4
    assert long.is_estimate
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["EXPLAIN"]


def test_a_short_list_is_counted_exactly_and_no_further_than_the_limit(forty):
    short = paginator(Customer.objects.filter(last_name="Tamm"), exact_up_to=20)
    with CaptureQueriesContext(connection) as captured:
        assert short.count == 3
    assert not short.is_estimate
    count = captured.captured_queries[-1]["sql"]
    assert count.startswith("SELECT COUNT(*)") and "LIMIT 21" in count


def test_a_list_the_planner_thought_short_is_counted_up_to_the_limit(forty, monkeypatch):
    monkeypatch.setattr(admin_scale, "estimated_row_count", lambda queryset: 2)
    wrong = paginator(Customer.objects.all(), exact_up_to=20)
    assert wrong.count == 21 and wrong.is_estimate  # "about 21": at least that many


def test_the_estimate_follows_the_filters(forty):
    assert estimated_row_count(Customer.objects.all()) == 40
    assert estimated_row_count(Customer.objects.filter(last_name="Tamm")) == 3


def test_the_changelist_says_about_when_the_count_is_an_estimate(staff_client, forty, monkeypatch):
    monkeypatch.setattr(EstimatedCountPaginator, "exact_up_to", 20)
    content = staff_client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert "about 40 customers" in content
    inactive = staff_client.get(reverse("admin:crm_customer_changelist"), {"is_active__exact": "0"}).content.decode()
    assert "about" not in inactive.split('class="paginator"')[1] and "0 customers" in inactive
