import datetime

import pytest
from django.urls import reverse

from notifications.delivery.letters import batch_pdf, letter_batch_mark_posted
from notifications.models import LetterBatch, Notification
from notifications.outbox.write import notify
from notifications.preferences.services import preference_update
from tests.notifications.test_pipeline import send_due


@pytest.fixture
def addressed(customer_factory):
    customers = [
        customer_factory(
            first_name="Mari",
            last_name="Tamm",
            address_line="Narva mnt 5-12",
            postal_code="10117",
            city="Tallinn",
            country="EE",
        ),
        customer_factory(
            first_name="Анна",
            last_name="Иванова",
            address_line="Невский пр. 28",
            postal_code="191186",
            city="Санкт-Петербург",
            country="RU",
            language="ru",
        ),
    ]
    for customer in customers:
        preference_update(customer=customer, window_start=datetime.time(0, 0), window_end=datetime.time(23, 59))
    return customers


def _letters_for(customers):
    rows = []
    for customer in customers:
        rows += notify(
            customer=customer,
            topic="thanks",
            context={"text": "Thank you for 10 years with us."},
            dedupe_key=f"thanks:{customer.pk}",
        )
    Notification.objects.filter(pk__in=[r.pk for r in rows]).update(send_at=rows[0].created_at)
    return rows


def test_letters_are_batched_printed_and_sent_when_posted(addressed, admin_user):
    rows = _letters_for(addressed)
    assert {r.channel for r in rows} == {"postal"}
    send_due()
    batch = LetterBatch.objects.get()
    assert set(Notification.objects.values_list("status", "letter_batch")) == {("printing", batch.pk)}
    assert all(n.sent_at is None for n in Notification.objects.all())

    pdf = batch_pdf(batch)
    assert pdf.startswith(b"%PDF")
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page>") >= 3
    )  # 2 letters + labels

    assert letter_batch_mark_posted(batch=batch, staff=admin_user) == 2
    assert letter_batch_mark_posted(batch=batch, staff=admin_user) == 0
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_customer_without_a_postal_address_gets_the_email_alternative(customer_factory):
    customer = customer_factory(address_line="", city="")
    [row] = notify(customer=customer, topic="thanks", context={"text": "x"}, dedupe_key="thanks-noaddr")
    assert row.channel == "email"


def test_staff_download_the_batch_pdf_and_mark_it_posted_in_the_admin(staff_client, addressed):
    _letters_for(addressed)
    send_due()
    batch = LetterBatch.objects.get()
    response = staff_client.get(reverse("admin:notifications_letterbatch_pdf", args=[batch.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert staff_client.get(reverse("admin:notifications_letterbatch_changelist")).status_code == 200
    staff_client.post(
        reverse("admin:notifications_letterbatch_changelist"),
        {"action": "mark_posted", "_selected_action": [batch.pk]},
    )
    batch.refresh_from_db()
    assert batch.posted_at is not None
    assert set(Notification.objects.values_list("status", flat=True)) == {"sent"}


def test_demo_activity_produces_bonus_messages_and_letters(db, django_capture_on_commit_callbacks):
    from django.core.management import call_command

    call_command("seed_demo", "--customers", "12")
    with django_capture_on_commit_callbacks(execute=True):
        call_command("demo_activity", "--customers", "12")
    assert Notification.objects.filter(topic__code="bonus-credited").count() == 12
    assert Notification.objects.filter(topic__code="thanks").exists()
    assert Notification.objects.filter(topic__code="service", channel="email").count() == 1
    call_command("demo_activity", "--if-empty")
    assert Notification.objects.filter(topic__code="bonus-credited").count() == 12
