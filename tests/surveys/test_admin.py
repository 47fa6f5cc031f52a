import pytest
from django.urls import reverse
from django.utils import timezone

from surveys.models import Response, Survey
from tests.admin_queries import unindexed_reads, whole_table_aggregates


@pytest.fixture
def responses(customer_factory):
    """30 answer sheets, each its own customer's, of two surveys: an N+1 shows."""
    surveys = [
        Survey.objects.create(slug=f"scale-{n}", kind=Survey.Kind.FEEDBACK, title=f"How was it? {n}") for n in range(2)
    ]
    return Response.objects.bulk_create(
        Response(survey=surveys[n % 2], customer=c, language="en", completed_at=timezone.now() if n % 3 else None)
        for n, c in enumerate(customer_factory.create_batch(30))
    )


def test_response_changelist_counts_no_whole_table_and_runs_bounded_queries(
    staff_client, responses, django_assert_max_num_queries
):
    # Session, user, the list, the planner's estimate and a bounded count, the surveys to filter by.
    with django_assert_max_num_queries(6) as captured:
        response = staff_client.get(reverse("admin:surveys_response_changelist"), {"_facets": "1"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 30
    assert whole_table_aggregates(captured.captured_queries, "surveys_response") == []


def test_responses_are_listed_latest_first_and_found_by_customer(staff_client, responses):
    url = reverse("admin:surveys_response_changelist")
    cl = staff_client.get(url).context["cl"]
    assert [r.pk for r in cl.result_list] == sorted((r.pk for r in responses), reverse=True)
    wanted = responses[5]
    found = staff_client.get(url, {"q": wanted.customer.email}).context["cl"]
    assert list(found.result_list) == [wanted]
    assert unindexed_reads(found.queryset) == []
    unfinished = staff_client.get(url, {"completed_at__isempty": "1"}).context["cl"]
    assert {r.pk for r in unfinished.result_list} == {r.pk for r in responses if r.completed_at is None}
