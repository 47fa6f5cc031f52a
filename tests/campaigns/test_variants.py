"""A/B variants: a stable split of the recipients, each variant's own content and start through the
real dispatcher, the forecast and the report per variant, and a launch that stays set-based."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import selectors, services
from campaigns.models import Campaign, CampaignContent, CampaignMember, CampaignVariant
from crm.models import Customer
from notifications.delivery import dispatch
from notifications.models import Channel, Notification
from tests.campaigns.factories import marketing_consent
from tests.campaigns.test_admin import marketer  # noqa: F401 (fixture)
from tests.crm.factories import CustomerFactory
from tests.loyalty.factories import purchase

Status = Notification.Status
NOW = datetime.datetime(2026, 3, 11, 8, 0, tzinfo=datetime.UTC)


def _customers(count, **fields):
    customers = Customer.objects.bulk_create([CustomerFactory.build(**fields) for _ in range(count)], batch_size=5000)
    marketing_consent(customers)
    return customers


def _ab(campaign, shares=(50, 50), delays=None):
    delays = delays or [0] * len(shares)
    variants = [
        CampaignVariant.objects.create(campaign=campaign, label=label, share_percent=share, delay_hours=delay)
        for label, share, delay in zip("ABC", shares, delays, strict=False)
    ]
    return variants


def test_assignment_is_stable_the_same_in_python_and_sql_and_follows_the_shares(campaign_factory):
    customers = _customers(2000)
    campaign = campaign_factory()
    a, b = _ab(campaign, shares=(30, 70))
    variants = [a, b]
    in_sql = dict(services.with_variant(Customer.objects.all(), campaign.pk, variants).values_list("pk", "variant_pk"))
    in_python = {
        c.pk: services.variant_of(campaign_id=campaign.pk, customer_id=c.pk, variants=variants) for c in customers
    }
    assert in_sql == in_python
    share_a = sum(1 for pk in in_sql.values() if pk == a.pk) / 2000
    assert 0.26 <= share_a <= 0.34
    assert set(in_sql.values()) == {a.pk, b.pk}
    # Another campaign splits differently (its own salt), the same one always the same.
    assert in_python == {
        c.pk: services.variant_of(campaign_id=campaign.pk, customer_id=c.pk, variants=variants) for c in customers
    }
    other = {
        c.pk: services.variant_of(campaign_id=campaign.pk + 1, customer_id=c.pk, variants=variants) for c in customers
    }
    assert other != in_python


def test_launch_assigns_each_recipient_a_variant_and_the_holdout_none(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    _customers(400)
    campaign = campaign_factory(holdout_percent=20)
    a, b = _ab(campaign)
    services.campaign_launch(campaign=campaign, now=NOW)
    members = CampaignMember.objects.filter(campaign=campaign)
    assert not members.filter(holdout=True, variant__isnull=False).exists()
    assert not members.filter(holdout=False, variant__isnull=True).exists()
    for member in members.filter(holdout=False):
        assert member.variant_id == services.variant_of(
            campaign_id=campaign.pk, customer_id=member.customer_id, variants=[a, b]
        )
    assert 120 <= members.filter(variant=a).count() <= 200


def test_each_variant_gets_its_own_content_and_start_through_the_dispatcher(campaign_factory, time_machine, sms_outbox):
    from django.core import mail

    time_machine.move_to(NOW, tick=False)
    _customers(40, first_name="Ann")
    campaign = campaign_factory(holdout_percent=0)
    a, b = _ab(campaign, delays=(0, 3))
    CampaignContent.objects.create(
        campaign=campaign,
        variant=a,
        channel=Channel.SMS,
        language="en",
        body="A: boots for you, {{ customer.first_name }}.",
    )
    CampaignContent.objects.create(
        campaign=campaign, variant=b, channel=Channel.EMAIL, language="en", subject="B: boots!", body="B body"
    )
    services.campaign_launch(campaign=campaign, now=NOW)
    variant_of = dict(CampaignMember.objects.filter(campaign=campaign).values_list("customer_id", "variant_id"))
    rows = services.campaign_rows(campaign)
    assert {row.context["variant"] for row in rows} == {"A", "B"}
    # B is held back three hours.
    assert all(row.send_at >= NOW + datetime.timedelta(hours=3) for row in rows if variant_of[row.customer_id] == b.pk)
    dispatch.drain(now=NOW + datetime.timedelta(hours=4))
    sent = {(row.customer_id, row.channel): row for row in services.campaign_rows(campaign)}
    assert all(row.status == Status.SENT for row in sent.values())
    for customer_id, variant_id in variant_of.items():
        sms, email = sent[customer_id, "sms"], sent[customer_id, "email"]
        if variant_id == a.pk:
            assert "A: boots for you, Ann." in sms.body  # its own SMS
            assert (
                "Winter boots are here" in email.subject and "B: boots!" not in email.subject
            )  # the campaign's e-mail
        else:
            assert "New winter boots in store, Ann" in sms.body  # falls back to the campaign's SMS
            assert "B: boots!" in email.subject
    subjects = [message.subject for message in mail.outbox]
    assert sum("B: boots!" in s for s in subjects) == sum(1 for v in variant_of.values() if v == b.pk)


def test_forecast_counts_recipients_per_variant(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    _customers(200)
    campaign = campaign_factory(holdout_percent=10)
    a, b = _ab(campaign, shares=(40, 60))
    forecast = selectors.campaign_forecast(campaign, now=NOW)
    held = sum(
        services.is_held_out(campaign_id=campaign.pk, customer_id=pk, percent=10)
        for pk in Customer.objects.values_list("pk", flat=True)
    )
    expected_a = sum(
        1
        for pk in Customer.objects.values_list("pk", flat=True)
        if not services.is_held_out(campaign_id=campaign.pk, customer_id=pk, percent=10)
        and services.variant_of(campaign_id=campaign.pk, customer_id=pk, variants=[a, b]) == a.pk
    )
    assert forecast.by_variant == {"A": expected_a, "B": 200 - held - expected_a}
    assert forecast.recipients == 200 - held and forecast.holdout == held
    services.campaign_launch(campaign=campaign, now=NOW)
    assert CampaignMember.objects.filter(campaign=campaign, variant=a).count() == expected_a


def test_report_splits_per_variant_and_compares_outcomes(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    customers = CustomerFactory.create_batch(60)
    marketing_consent(customers)
    campaign = campaign_factory(holdout_percent=20, report_days=14)
    a, b = _ab(campaign)
    services.campaign_launch(campaign=campaign, now=NOW)
    dispatch.drain(now=NOW)
    members = {m.customer_id: m for m in CampaignMember.objects.filter(campaign=campaign)}
    spend = {None: "10.00", a.pk: "20.00", b.pk: "50.00"}
    for customer in customers:
        purchase(customer, amount=spend[members[customer.pk].variant_id], occurred_at=NOW + datetime.timedelta(days=1))
    first_a = services.campaign_rows(campaign).filter(channel="email", customer__campaign_memberships__variant=a)
    Notification.objects.filter(pk=first_a.order_by("pk").first().pk).update(opened_at=NOW)
    campaign.refresh_from_db()
    report = selectors.campaign_report(campaign)
    count = {v.pk: sum(1 for m in members.values() if m.variant_id == v.pk) for v in (a, b)}
    assert report.by_variant["A"].by_channel["sms"].sent == count[a.pk]
    assert report.by_variant["B"].by_channel["sms"].sent == count[b.pk]
    assert report.by_variant["A"].by_channel["email"].opened == 1
    assert report.by_variant["B"].by_channel["email"].opened == 0
    assert report.by_channel["sms"].sent == count[a.pk] + count[b.pk]
    outcome_a, outcome_b = report.variant_outcomes
    assert (outcome_a.label, outcome_a.members, outcome_a.spend) == ("A", count[a.pk], 20.0)
    assert (outcome_b.label, outcome_b.members, outcome_b.spend) == ("B", count[b.pk], 50.0)
    assert outcome_a.spend_vs_holdout.value == pytest.approx(10.0) and outcome_a.spend_vs_holdout.significant
    assert outcome_b.spend_vs_first.value == pytest.approx(30.0) and outcome_b.spend_vs_first.significant
    assert outcome_a.spend_vs_first is None
    # The holdout comparison still pools every variant's recipients.
    assert report.comparison.recipients == count[a.pk] + count[b.pk]


def test_launch_queries_do_not_grow_with_the_segment_with_variants(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    counts = []
    for size, language in ((20, "fi"), (300, "sv")):
        _customers(size, language=language)
        campaign = campaign_factory(segment__rules={"languages": [language]})
        _ab(campaign)
        with CaptureQueriesContext(connection) as queries:
            services.campaign_launch(campaign=campaign, now=NOW)
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_launching_three_variants_to_10000_customers_is_set_based(
    campaign_factory, django_assert_max_num_queries, monkeypatch, time_machine
):
    time_machine.move_to(NOW, tick=False)
    _customers(10_000)
    campaign = campaign_factory(gift_points=0, holdout_percent=5)
    _ab(campaign, shares=(34, 33, 33))
    tasks = []
    monkeypatch.setattr("notifications.outbox.write.nudge", lambda *args: tasks.append(args))
    # Eighteen statements without variants, about ten more per variant (its own fan-out).
    with django_assert_max_num_queries(45):
        services.campaign_launch(campaign=campaign, now=NOW)
    campaign.refresh_from_db()
    rows = services.campaign_rows(campaign)
    assert rows.filter(channel="sms").count() == campaign.recipients
    per_variant = CampaignMember.objects.filter(campaign=campaign, holdout=False).values_list("variant__label")
    assert all(3000 <= per_variant.filter(variant__label=label).count() <= 3400 for label in "ABC")
    assert len(tasks) <= rows.count() / 100


def test_launch_refuses_a_lone_variant_or_shares_not_adding_up(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    _customers(3)
    campaign = campaign_factory()
    CampaignVariant.objects.create(campaign=campaign, label="A", share_percent=100)
    with pytest.raises(services.CampaignError, match="at least two"):
        services.campaign_launch(campaign=campaign, now=NOW)
    CampaignVariant.objects.create(campaign=campaign, label="B", share_percent=30)
    with pytest.raises(services.CampaignError, match="add up"):
        services.campaign_launch(campaign=campaign, now=NOW)
    CampaignVariant.objects.filter(campaign=campaign, label="B").update(share_percent=0, delay_hours=24 * 8)
    CampaignVariant.objects.filter(campaign=campaign, label="A").update(share_percent=100)
    with pytest.raises(services.CampaignError, match="past the deadline"):
        services.campaign_launch(campaign=campaign, now=NOW)
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT
    assert not services.campaign_rows(campaign).exists()


def test_admin_pages_show_variants(marketer, campaign_factory, time_machine):  # noqa: F811
    time_machine.move_to(NOW, tick=False)
    _customers(30)
    campaign = campaign_factory(holdout_percent=10)
    _ab(campaign)
    change = marketer.get(reverse("admin:campaigns_campaign_change", args=[campaign.pk]))
    assert change.status_code == 200 and b"variants-TOTAL_FORMS" in change.content
    forecast = marketer.get(reverse("admin:campaigns_campaign_forecast", args=[campaign.pk]))
    assert b'id="forecast-variants"' in forecast.content
    services.campaign_launch(campaign=campaign, now=NOW)
    page = marketer.get(reverse("admin:campaigns_campaign_report", args=[campaign.pk]))
    assert page.status_code == 200
    assert b'id="variant-report"' in page.content and b'id="variant-outcomes"' in page.content
    assert b"<script" not in page.content.split(b'id="variant-report"')[1]


def test_admin_refuses_variant_shares_that_do_not_add_up(marketer, campaign_factory):  # noqa: F811
    campaign = campaign_factory()
    url = reverse("admin:campaigns_campaign_change", args=[campaign.pk])
    data = {
        "name": campaign.name,
        "topic": campaign.topic_id,
        "segment": campaign.segment_id,
        "deadline_0": "2026-03-20",
        "deadline_1": "12:00:00",
        "gift_points": "0",
        "holdout_percent": "5",
        "report_days": "14",
        "contents-TOTAL_FORMS": "0",
        "contents-INITIAL_FORMS": "0",
        "variants-TOTAL_FORMS": "2",
        "variants-INITIAL_FORMS": "0",
        "variants-0-label": "A",
        "variants-0-share_percent": "50",
        "variants-0-delay_hours": "0",
        "variants-1-label": "B",
        "variants-1-share_percent": "30",
        "variants-1-delay_hours": "0",
    }
    response = marketer.post(url, data)
    assert response.status_code == 200 and not CampaignVariant.objects.exists()
    data["variants-1-share_percent"] = "50"
    response = marketer.post(url, data)
    assert response.status_code == 302
    assert list(CampaignVariant.objects.filter(campaign=campaign).values_list("label", "share_percent")) == [
        ("A", 50),
        ("B", 50),
    ]


def test_test_send_of_a_variant_uses_its_own_content(marketer, campaign_factory):  # noqa: F811
    from django.core import mail

    campaign = campaign_factory()
    _a, b = _ab(campaign)
    CampaignContent.objects.create(campaign=campaign, variant=b, channel=Channel.SMS, language="en", body="B teaser")
    url = reverse("admin:campaigns_campaign_test_send", args=[campaign.pk])
    response = marketer.post(url, {"email": "mia@shop.example", "language": "en", "variant": b.pk})
    assert response.status_code == 302
    assert "B teaser" in mail.outbox[-1].body
    marketer.post(url, {"email": "mia@shop.example", "language": "en", "variant": ""})
    assert "B teaser" not in mail.outbox[-1].body and "New winter boots" in mail.outbox[-1].body
