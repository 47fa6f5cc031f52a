"""The campaign pages as marketing staff use them: write, forecast, launch, pause, cancel, report, test-send."""

import datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core import mail
from django.urls import reverse

from audit.models import AuditEntry
from campaigns import services
from campaigns.models import Campaign
from crm import roles
from notifications.models import Notification, Topic
from tests.campaigns.factories import marketing_consent
from tests.crm.factories import CustomerFactory

NOW = datetime.datetime(2026, 3, 11, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def marketer(client, db):
    user = User.objects.create_user("mia", password="x", is_staff=True, email="mia@shop.example")
    user.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(user)
    return client


@pytest.fixture
def audience(db, time_machine):
    time_machine.move_to(NOW, tick=False)
    customers = CustomerFactory.create_batch(5)
    marketing_consent(customers)
    return customers


def test_marketing_writes_a_campaign_with_content_per_channel_and_language(marketer, segment_factory):
    segment = segment_factory(name="All")
    topic = Topic.objects.get(code="new-products")
    data = {
        "name": "Winter boots",
        "topic": topic.pk,
        "segment": segment.pk,
        "starts_at_0": "",
        "starts_at_1": "",
        "deadline_0": "2026-03-20",
        "deadline_1": "12:00:00",
        "gift_points": "0",
        "holdout_percent": "5",
        "report_days": "14",
        "contents-TOTAL_FORMS": "2",
        "contents-INITIAL_FORMS": "0",
        "variants-TOTAL_FORMS": "0",
        "variants-INITIAL_FORMS": "0",
        "contents-0-channel": "sms",
        "contents-0-language": "en",
        "contents-0-body": "Boots are in. Details by e-mail.",
        "contents-1-channel": "email",
        "contents-1-language": "en",
        "contents-1-subject": "Winter boots",
        "contents-1-body": "Hello {{ customer.first_name }}, the boots arrived.",
    }
    response = marketer.post(reverse("admin:campaigns_campaign_add"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.DRAFT and campaign.holdout_percent == 5
    assert sorted(campaign.contents.values_list("channel", "language")) == [("email", "en"), ("sms", "en")]
    page = marketer.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    for name in ("forecast", "control", "report", "test_send"):
        assert reverse(f"admin:campaigns_campaign_{name}", args=[campaign.pk]) in page


def test_forecast_launch_pause_cancel_and_report_pages(
    marketer, audience, campaign_factory, django_assert_max_num_queries
):
    campaign = campaign_factory(holdout_percent=0)
    with django_assert_max_num_queries(25):
        forecast = marketer.get(reverse("admin:campaigns_campaign_forecast", args=[campaign.pk]))
    text = forecast.content.decode()
    assert forecast.status_code == 200 and "<svg" in text and "5 would get at least one message" in text
    control = reverse("admin:campaigns_campaign_control", args=[campaign.pk])
    assert marketer.post(control, {"action": "launch"}).status_code == 302
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING and services.campaign_rows(campaign).count() == 10
    assert AuditEntry.objects.filter(object_type="campaigns.campaign", changes__status=["draft", "running"]).exists()
    page = marketer.get(control).content.decode()
    assert 'value="pause"' in page and 'value="launch"' not in page
    marketer.post(control, {"action": "pause"})
    assert set(services.campaign_rows(campaign).values_list("status", flat=True)) == {Notification.Status.HELD}
    marketer.post(control, {"action": "cancel"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.CANCELLED
    # Nothing further can be done to a cancelled campaign.
    marketer.post(control, {"action": "resume"})
    assert set(services.campaign_rows(campaign).values_list("status", flat=True)) == {Notification.Status.CANCELLED}
    with django_assert_max_num_queries(25):
        report = marketer.get(reverse("admin:campaigns_campaign_report", args=[campaign.pk]))
    assert report.status_code == 200 and "<svg" in report.content.decode()


def test_controls_need_the_launch_permission(client, audience, campaign_factory):
    viewer = User.objects.create_user("vic", password="x", is_staff=True)
    viewer.user_permissions.add(*_permissions("view_campaign"))
    client.force_login(viewer)
    campaign = campaign_factory()
    control = reverse("admin:campaigns_campaign_control", args=[campaign.pk])
    assert client.get(control).status_code == 200
    assert client.post(control, {"action": "launch"}).status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT and not Notification.objects.exists()


def test_test_send_goes_to_the_staff_address_at_once_and_is_not_counted(marketer, audience, campaign_factory):
    campaign = campaign_factory()
    url = reverse("admin:campaigns_campaign_test_send", args=[campaign.pk])
    response = marketer.post(url, {"email": "mia@shop.example", "language": "et", "first_name": "Mia"})
    assert response.status_code == 302
    (message,) = mail.outbox
    assert message.to == ["mia@shop.example"]
    assert "Talvesaapad on kohal" in message.subject and "Tere Mia" in message.body
    assert "Uued talvesaapad poes, Mia" in message.body  # the SMS teaser too
    assert not Notification.objects.exists()
    assert marketer.post(url, {"email": "not an address", "language": "et"}).status_code == 200


def _permissions(*codenames):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames)


def test_the_campaign_page_says_which_languages_read_another_languages_text(marketer, campaign_factory):
    campaign = campaign_factory()  # SMS and e-mail in English and Estonian
    page = marketer.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "e-mail: English, Estonian · Finnish, Russian, Swedish read the English text" in page
    assert "SMS: English, Estonian · Finnish, Russian, Swedish read the English text" in page
    campaign.contents.filter(language="en").delete()
    page = marketer.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk])).content.decode()
    assert "SMS: Estonian · English, Finnish, Russian, Swedish read the Estonian text" in page
