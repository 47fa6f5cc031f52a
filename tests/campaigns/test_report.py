"""The report: per channel figures, unsubscribes through the campaign's own link, the holdout comparison."""

import datetime
import math

import pytest

from campaigns import selectors, services
from campaigns.models import CampaignMember
from notifications.delivery import dispatch
from notifications.delivery.rendering import unsubscribe_urls
from notifications.models import Notification, UnsubscribeReason
from tests.campaigns.factories import marketing_consent
from tests.crm.factories import CustomerFactory
from tests.loyalty.factories import purchase

NOW = datetime.datetime(2026, 3, 11, 8, 0, tzinfo=datetime.UTC)


def test_welch_difference_matches_a_hand_computation():
    # Group a: 1, 2, 3 (mean 2, variance 1); group b: 0, 0, 0, 4 (mean 1, variance 4).
    difference = selectors.welch_difference((3, 6, 14), (4, 4, 16))
    error = math.sqrt(1 / 3 + 4 / 4)
    assert difference.value == pytest.approx(1.0)
    assert difference.low == pytest.approx(1 - 1.959964 * error)
    assert difference.high == pytest.approx(1 + 1.959964 * error)
    assert not difference.significant
    assert selectors.welch_difference((1, 5, 25), (4, 4, 16)) is None
    assert selectors.welch_difference((100, 1000, 10_100), (100, 500, 2_600)).significant


def test_report_counts_per_channel_and_attributes_unsubscribes_to_the_campaign(campaign_factory, time_machine, client):
    time_machine.move_to(NOW, tick=False)
    customers = CustomerFactory.create_batch(3)
    marketing_consent(customers)
    campaign = campaign_factory(holdout_percent=0)
    services.campaign_launch(campaign=campaign, now=NOW)
    dispatch.drain(now=NOW)
    rows = services.campaign_rows(campaign)
    email = rows.filter(channel="email").order_by("pk").first()
    Notification.objects.filter(pk=email.pk).update(delivered_at=NOW, opened_at=NOW)
    reason = UnsubscribeReason.objects.get(code="too-many")
    page, _one_click = unsubscribe_urls(email)
    path = page.removeprefix("https://crm.example.com")
    assert client.post(path, {"choice": "topic", "reason": reason.pk}).status_code == 200
    report = selectors.campaign_report(campaign)
    assert report.by_channel["email"] == selectors.ChannelReport(sent=3, delivered=1, opened=1, unsubscribed=1)
    assert report.by_channel["sms"].sent == 3
    assert report.unsubscribe_reasons == {("email", reason.label): 1}
    # Another campaign's report does not count it.
    other = campaign_factory(holdout_percent=0)
    services.campaign_launch(campaign=other, now=NOW)
    assert selectors.campaign_report(other).unsubscribe_reasons == {}


def test_holdout_comparison_counts_purchases_after_launch_only(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    customers = CustomerFactory.create_batch(40)
    marketing_consent(customers)
    campaign = campaign_factory(holdout_percent=50, report_days=14)
    services.campaign_launch(campaign=campaign, now=NOW)
    members = dict(CampaignMember.objects.filter(campaign=campaign).values_list("customer_id", "holdout"))
    by_pk = {c.pk: c for c in customers}
    for pk, held in members.items():
        purchase(by_pk[pk], amount="10.00" if held else "30.00", occurred_at=NOW + datetime.timedelta(days=1))
        if not held:
            purchase(by_pk[pk], amount="30.00", occurred_at=NOW + datetime.timedelta(days=2))
        purchase(by_pk[pk], amount="500.00", occurred_at=NOW + datetime.timedelta(days=20))  # after the window
        purchase(by_pk[pk], amount="500.00", occurred_at=NOW - datetime.timedelta(days=1))  # before launch
    campaign.refresh_from_db()
    comparison = selectors.holdout_comparison(campaign)
    held = sum(members.values())
    assert (comparison.recipients, comparison.holdout) == (40 - held, held)
    assert comparison.purchases == (2.0, 1.0)
    assert comparison.spend == (60.0, 10.0)
    assert comparison.spend_difference.value == pytest.approx(50.0)
    assert comparison.spend_difference.low == pytest.approx(50.0)  # no variance within the groups


def test_the_dashboard_shows_the_latest_campaigns_results(campaign_factory, time_machine, client):
    """The campaigns panel of the staff dashboard: what the latest campaigns sent, opened and clicked."""
    from django.contrib.auth.models import Group, User
    from django.urls import reverse

    from crm import roles

    time_machine.move_to(NOW, tick=False)
    customers = CustomerFactory.create_batch(3)
    marketing_consent(customers)
    campaign = campaign_factory(holdout_percent=0, name="Spring")
    services.campaign_launch(campaign=campaign, now=NOW)
    dispatch.drain(now=NOW)
    email = services.campaign_rows(campaign).filter(channel="email").order_by("pk").first()
    Notification.objects.filter(pk=email.pk).update(opened_at=NOW, clicked_at=NOW)
    user = User.objects.create_user("marketer", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.MARKETING))
    client.force_login(user)

    response = client.get(reverse("admin:dashboard"))

    [panel] = [p for p in response.context["panels"] if p["panel"].key == "campaigns"]
    figures = {str(label): value for label, value in panel["figures"]}
    assert figures == {"campaigns launched": 1, "messages sent by them": 6}
    [bar] = panel["charts"][0].bars
    assert (bar.label, bar.values) == ("Spring", [1, 0, 5])  # clicked, opened only, not opened
