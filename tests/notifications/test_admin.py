import pytest
from django.urls import reverse

from notifications.models import MessageTemplate
from notifications.outbox.write import notify
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
    assert message.to == customer.email and "120 points were credited" in message.body
    assert message.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_email_outbox_viewer_reads_the_file_backend(staff_client, settings, tmp_path):
    settings.EMAIL_FILE_PATH = str(tmp_path)
    (tmp_path / "20261123-1.log").write_text("Subject: Corner Shop: hello\n\nbody")
    response = staff_client.get(reverse("admin:notifications_email_outbox"))
    assert response.status_code == 200 and "Corner Shop: hello" in response.content.decode()
