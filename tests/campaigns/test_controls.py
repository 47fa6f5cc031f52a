"""Pause, resume and cancel, through the real dispatcher; live progress; the forecast."""

import datetime

import pytest

from campaigns import selectors, services
from campaigns.models import Campaign
from notifications.delivery import dispatch
from notifications.models import Notification, Preference
from tests.campaigns.factories import marketing_consent
from tests.crm.factories import CustomerFactory

Status = Notification.Status
# A Wednesday, 10:00 in Tallinn: inside the default window.
NOW = datetime.datetime(2026, 3, 11, 8, 0, tzinfo=datetime.UTC)
LATER = NOW + datetime.timedelta(hours=1)


@pytest.fixture
def launched(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    customers = CustomerFactory.create_batch(6)
    marketing_consent(customers)
    campaign = campaign_factory(holdout_percent=0)
    services.campaign_launch(campaign=campaign, now=NOW)
    return campaign


def test_a_paused_campaign_sends_nothing_until_resumed(launched, time_machine):
    assert not services.campaign_finish_if_done(campaign=launched)  # its messages are still queued
    held = services.campaign_pause(campaign=launched, now=NOW)
    assert held == 12
    assert set(services.campaign_rows(launched).values_list("status", flat=True)) == {Status.HELD}
    time_machine.move_to(LATER, tick=False)
    assert dispatch.drain(now=LATER) == {}
    progress = selectors.campaign_progress(launched)
    assert progress.totals == {"queued": 12}
    assert services.campaign_resume(campaign=launched, now=LATER) == 12
    launched.refresh_from_db()
    assert launched.status == Campaign.Status.RUNNING
    # Re-planned from now on: the time that passed while paused is not sent in the past.
    assert all(row.send_at >= LATER for row in services.campaign_rows(launched))
    assert dispatch.drain(now=LATER) == {"sent": 12}
    assert selectors.campaign_progress(launched).by_channel == {"email": {"sent": 6}, "sms": {"sent": 6}}
    # Nothing left to send: finished.
    assert services.campaign_finish_if_done(campaign=launched)
    launched.refresh_from_db()
    assert launched.status == Campaign.Status.FINISHED


def test_a_cancelled_campaign_sends_nothing_more(launched, time_machine):
    row = services.campaign_rows(launched).order_by("pk").first()
    # One message went out before staff cancelled.
    Notification.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=NOW)
    assert services.campaign_cancel(campaign=launched, now=NOW) == 11
    assert dispatch.drain(now=LATER) == {}
    rows = services.campaign_rows(launched)
    assert rows.filter(status=Status.CANCELLED, reason=Notification.Reason.BY_STAFF).count() == 11
    assert selectors.campaign_progress(launched).totals == {"sent": 1, "cancelled": 11}
    with pytest.raises(services.CampaignError):
        services.campaign_resume(campaign=launched, now=LATER)


def test_cancel_also_stops_a_paused_campaign(launched):
    services.campaign_pause(campaign=launched, now=NOW)
    services.campaign_cancel(campaign=launched, now=NOW)
    assert dispatch.drain(now=LATER) == {}
    assert not services.campaign_rows(launched).exclude(status=Status.CANCELLED).exists()


def test_forecast_uses_the_launchs_planning_and_writes_nothing(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    agreed = CustomerFactory.create_batch(4)
    marketing_consent(agreed)
    CustomerFactory.create_batch(2)  # no consent
    paused = CustomerFactory()
    marketing_consent([paused])
    Preference.objects.create(customer=paused, paused_until=NOW.date() + datetime.timedelta(days=30))
    london = CustomerFactory(time_zone="Europe/London")  # 08:00 there: before the window opens
    marketing_consent([london])
    campaign = campaign_factory(holdout_percent=0, deadline=NOW + datetime.timedelta(days=3))
    forecast = selectors.campaign_forecast(campaign, now=NOW)
    assert not Notification.objects.exists()
    assert (forecast.members, forecast.recipients, forecast.holdout) == (8, 5, 0)
    assert forecast.by_channel == {"sms": 5, "email": 5}
    assert forecast.suppressed == {"no_consent": 2, "paused": 1}
    # In each customer's own clock: 10:00 in Tallinn now, 09:00 in London when the window opens there.
    assert sum(forecast.hours) == 10 and forecast.hours[10] == 8 and forecast.hours[9] == 2
    assert (forecast.first, forecast.finish) == (NOW, NOW + datetime.timedelta(hours=1))
    # The launch does what the forecast said.
    report = services.campaign_launch(campaign=campaign, now=NOW)
    assert report.queued == forecast.recipients and report.suppressed == forecast.suppressed


def test_forecast_counts_who_is_at_their_weekly_limit(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    customer = CustomerFactory()
    marketing_consent([customer])
    Preference.objects.create(customer=customer, max_per_week={"sms": 1})
    earlier = campaign_factory(holdout_percent=0)
    services.campaign_launch(campaign=earlier, now=NOW)
    dispatch.drain(now=NOW)
    forecast = selectors.campaign_forecast(campaign_factory(holdout_percent=0), now=NOW)
    assert forecast.over_cap == {"sms": 1}


def test_resumed_at_night_the_messages_wait_for_the_customers_window(launched, time_machine):
    services.campaign_pause(campaign=launched, now=NOW)
    night = datetime.datetime(2026, 3, 11, 21, 30, tzinfo=datetime.UTC)  # 23:30 in Tallinn
    time_machine.move_to(night, tick=False)
    services.campaign_resume(campaign=launched, now=night)
    # Due (their time passed while paused), yet the dispatcher sends nothing in quiet hours: each
    # is deferred to a slot inside the customer's window before the campaign's deadline.
    assert dispatch.drain(now=night) == {"deferred": 12}
    for row in services.campaign_rows(launched):
        local = row.send_at.astimezone(datetime.timezone(datetime.timedelta(hours=2)))
        assert row.status == Status.DEFERRED and local.date() == datetime.date(2026, 3, 12)
        assert 8 <= local.hour < 21 and row.send_at <= launched.deadline
