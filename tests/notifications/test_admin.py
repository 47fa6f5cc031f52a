import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from notifications.models import (
    ConsentEvent,
    DeliveryEvent,
    InboundMessage,
    MessageTemplate,
    Notification,
    Preference,
    Topic,
)
from notifications.outbox.write import notify
from tests.admin_queries import unindexed_reads, whole_table_aggregates
from tests.notifications.factories import due_notification


def test_why_view_lists_each_decision_with_its_reason(staff_client, customer, django_assert_max_num_queries):
    notify(customer=customer, topic="promotion", context={}, dedupe_key="w1")  # no consent
    notify(customer=customer, topic="service", context={"text": "x"}, dedupe_key="w2")
    with django_assert_max_num_queries(12):
        response = staff_client.get(reverse("admin:notifications_why", args=[customer.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "no consent for this channel and topic" in text and "Service message" in text


@pytest.mark.parametrize("model", ["notification", "topic", "messagetemplate", "consentevent", "preference"])
def test_changelists_render_with_bounded_queries(staff_client, customer_factory, model, django_assert_max_num_queries):
    for customer in customer_factory.create_batch(10):
        due_notification(customer, "service")
    with django_assert_max_num_queries(15):
        assert staff_client.get(reverse(f"admin:notifications_{model}_changelist")).status_code == 200


def test_template_preview_renders_for_a_chosen_customer(staff_client, customer):
    template = MessageTemplate.objects.get(topic__code="bonus-credited", channel="email", language="en")
    response = staff_client.get(
        reverse("admin:notifications_template_preview", args=[template.pk]), {"customer": customer.pk}
    )
    assert response.status_code == 200
    message = response.context["message"]
    assert message.to == customer.email and "We credited 120 points" in message.body
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_email_outbox_viewer_reads_the_file_backend(staff_client, settings, tmp_path):
    settings.EMAIL_FILE_PATH = str(tmp_path)
    (tmp_path / "20261123-1.log").write_text("Subject: Corner Shop: hello\n\nbody")
    response = staff_client.get(reverse("admin:notifications_email_outbox"))
    assert response.status_code == 200 and "Corner Shop: hello" in response.content.decode()


# --- At scale: ten million outbox rows, millions of consent and delivery events ------------------------


@pytest.fixture
def outbox_rows(customer_factory):
    """30 of each listed row, each with its own customer: an N+1 shows."""
    customers = customer_factory.create_batch(30)
    topic = Topic.objects.get(code="service")
    now = timezone.now()
    notifications = Notification.objects.bulk_create(
        Notification(
            customer=c,
            topic=topic,
            channel="email",
            status="sent",
            send_at=now,
            deadline=now,
            sent_at=now,
            dedupe_key=f"scale:{c.pk}:email",
            provider_message_id=f"msg-{c.pk}",
        )
        for c in customers
    )
    ConsentEvent.objects.bulk_create(
        ConsentEvent(customer=c, channel="email", scope="marketing", action="granted", source="survey")
        for c in customers
    )
    DeliveryEvent.objects.bulk_create(
        DeliveryEvent(
            notification=n,
            provider="ses",
            channel="email",
            event_type="delivered",
            event_key=f"scale:{n.pk}",
            message_id=n.provider_message_id,
            recipient=n.customer.email,
            occurred_at=now,
        )
        for n in notifications
    )
    InboundMessage.objects.bulk_create(
        InboundMessage(
            provider="twilio",
            provider_message_id=f"in-{c.pk}",
            sender=str(c.phone),
            body="Open on Sunday?",
            customer=c,
            topic=topic,
            action="other",
        )
        for c in customers
    )
    Preference.objects.bulk_create(Preference(customer=c) for c in customers)
    return customers


# The queries each changelist runs: session, user, the planner's estimate, a bounded count, the
# page, and for two of them the topics to filter by.
NOTIFICATION_CHANGELISTS = {
    "notification": 6,
    "consentevent": 6,
    "deliveryevent": 5,
    "inboundmessage": 5,
    "preference": 5,
}


@pytest.mark.parametrize("model", NOTIFICATION_CHANGELISTS)
def test_changelist_counts_no_whole_table_and_runs_bounded_queries(
    staff_client, outbox_rows, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(NOTIFICATION_CHANGELISTS[model]) as captured:
        response = staff_client.get(reverse(f"admin:notifications_{model}_changelist"), {"_facets": "1"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 30
    assert whole_table_aggregates(captured.captured_queries, f"notifications_{model}") == []


def test_outbox_is_listed_newest_first_by_primary_key(staff_client, outbox_rows):
    cl = staff_client.get(reverse("admin:notifications_notification_changelist")).context["cl"]
    assert cl.queryset.query.order_by[0] == "-id"
    assert cl.date_hierarchy is None


@pytest.mark.parametrize("by", ["email", "card", "phone", "occasion", "provider id"])
def test_outbox_search_is_served_by_indexes(staff_client, outbox_rows, by):
    customer = outbox_rows[12]
    wanted = Notification.objects.get(customer=customer)
    term = {
        "email": customer.email,
        "card": customer.external_id,
        "phone": str(customer.phone),
        "occasion": f"scale:{customer.pk}",
        "provider id": f"msg-{customer.pk}",
    }[by]
    found = staff_client.get(reverse("admin:notifications_notification_changelist"), {"q": term}).context["cl"]
    assert list(found.result_list) == [wanted]
    assert unindexed_reads(found.queryset) == []


def test_search_that_finds_nobody_says_so(staff_client, outbox_rows):
    # Nobody matches: the list's condition can match nothing, and Django runs no statement for it.
    url = reverse("admin:notifications_consentevent_changelist")
    found = staff_client.get(url, {"q": "nobody@nowhere.example"})
    assert found.status_code == 200 and found.context["cl"].result_count == 0


@pytest.mark.parametrize("by", ["message id", "email"])
def test_delivery_event_search_is_served_by_indexes(staff_client, outbox_rows, by):
    customer = outbox_rows[3]
    term = {"message id": f"msg-{customer.pk}", "email": customer.email}[by]
    found = staff_client.get(reverse("admin:notifications_deliveryevent_changelist"), {"q": term}).context["cl"]
    assert [event.notification.customer for event in found.result_list] == [customer]
    assert unindexed_reads(found.queryset) == []


@pytest.mark.parametrize(
    "model, lookup",
    [("notification", {"reason__exact": "no_template"}), ("deliveryevent", {"event_type__exact": "bounced"})],
)
def test_a_rare_reason_or_event_kind_is_found_through_an_index(staff_client, outbox_rows, model, lookup):
    """Rare values are what staff filter for (a template missing, a bounce): at ten million rows
    they are found through a small partial index, not by reading every row newest first."""
    cl = staff_client.get(reverse(f"admin:notifications_{model}_changelist"), lookup).context["cl"]
    assert list(cl.result_list) == []
    assert unindexed_reads(cl.queryset) == []


def test_delivery_event_filter_lists_event_kinds_without_reading_the_table(staff_client, outbox_rows):
    url = reverse("admin:notifications_deliveryevent_changelist")
    with CaptureQueriesContext(connection) as captured:
        response = staff_client.get(url, {"event_type__exact": "delivered"})
    assert len(response.context["cl"].result_list) == 30
    assert not any("DISTINCT" in q["sql"] for q in captured.captured_queries)
    assert list(staff_client.get(url, {"event_type__exact": "bounced"}).context["cl"].result_list) == []


@pytest.mark.parametrize(
    "model, lookup",
    [
        ("notification", {"channel__exact": "postal"}),
        ("notification", "topic"),
        ("consentevent", {"scope__exact": "everything"}),
        ("consentevent", {"channel__exact": "messenger"}),
        ("consentevent", {"source__exact": "keyword"}),
    ],
)
def test_a_rare_value_of_any_filter_is_looked_up_in_an_index(staff_client, outbox_rows, model, lookup):
    """A letter among ten million e-mails, consent given by a keyword reply: found through the
    composite index the filter's column is in, not by reading the table newest first."""
    if lookup == "topic":
        lookup = {"topic__id__exact": Topic.objects.get(code="thanks").pk}
    cl = staff_client.get(reverse(f"admin:notifications_{model}_changelist"), lookup).context["cl"]
    assert list(cl.result_list) == []
    assert unindexed_reads(cl.queryset) == []
