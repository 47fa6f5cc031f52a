import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import services
from campaigns.models import Campaign, CampaignMember
from crm.models import Customer
from loyalty.models import BonusTransaction
from notifications.delivery import dispatch
from notifications.models import Notification
from tests.campaigns.factories import marketing_consent
from tests.crm.factories import CustomerFactory

Status = Notification.Status
# A Wednesday, 10:00 in Tallinn: inside the default window.
NOW = datetime.datetime(2026, 3, 11, 8, 0, tzinfo=datetime.UTC)


def _customers(count, **fields):
    customers = Customer.objects.bulk_create([CustomerFactory.build(**fields) for _ in range(count)], batch_size=5000)
    marketing_consent(customers)
    return customers


def test_holdout_is_a_stable_share_chosen_the_same_in_python_and_sql(customer_factory):
    customers = _customers(400)
    in_sql = dict(services.with_bucket(Customer.objects.all(), 7).values_list("pk", "holdout_bucket"))
    threshold = services.holdout_threshold(5)
    held = {pk for pk, bucket in in_sql.items() if bucket < threshold}
    assert held == {c.pk for c in customers if services.is_held_out(campaign_id=7, customer_id=c.pk, percent=5)}
    assert 5 <= len(held) <= 40  # about 5 % of 400
    assert services.holdout_threshold(0) == "0000"
    assert services.holdout_threshold(50) == "8000"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_launching_to_10000_customers_takes_a_constant_number_of_queries_and_few_tasks(
    campaign_factory, django_assert_max_num_queries, run_tasks_inline, monkeypatch, time_machine
):
    time_machine.move_to(NOW, tick=False)
    _customers(10_000)
    campaign = campaign_factory(gift_points=0, holdout_percent=5)
    tasks = []
    monkeypatch.setattr("notifications.outbox.write.nudge", lambda *args: tasks.append(args))
    # Seventeen statements at 20 or 300 customers (test below); 10,000 take one more chunk of reads.
    with django_assert_max_num_queries(25):
        report = services.campaign_launch(campaign=campaign, now=NOW)
    campaign.refresh_from_db()
    held = CampaignMember.objects.filter(campaign=campaign, holdout=True)
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.recipients + campaign.holdout == 10_000
    assert 350 <= campaign.holdout <= 650 and held.count() == campaign.holdout
    assert report.queued == campaign.recipients
    rows = services.campaign_rows(campaign)
    # The SMS teaser and the e-mail: one row each per recipient, none for the holdout.
    assert rows.filter(channel="sms").count() == rows.filter(channel="email").count() == campaign.recipients
    assert not rows.filter(customer__in=held.values("customer")).exists()
    assert len(tasks) <= rows.count() / 100
    # The same launch twice is refused, nothing doubles.
    with pytest.raises(services.CampaignError):
        services.campaign_launch(campaign=campaign, now=NOW)


def test_queries_do_not_grow_with_the_segment(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    counts = []
    for size, language in ((20, "fi"), (300, "sv")):
        _customers(size, language=language)
        campaign = campaign_factory(segment__rules={"languages": [language]})
        with CaptureQueriesContext(connection) as queries:
            services.campaign_launch(campaign=campaign, now=NOW)
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_campaign_content_is_rendered_per_channel_and_language_and_sent(campaign_factory, time_machine, sms_outbox):
    from django.core import mail

    time_machine.move_to(NOW, tick=False)
    estonian, english = _customers(1, language="et", first_name="Mari")[0], _customers(1, first_name="Ann")[0]
    campaign = campaign_factory(holdout_percent=0)
    services.campaign_launch(campaign=campaign, now=NOW)
    dispatch.drain(now=NOW)
    sent = {(row.customer_id, row.channel): row for row in services.campaign_rows(campaign)}
    assert sent[estonian.pk, "sms"].status == Status.SENT
    assert "Uued talvesaapad poes, Mari" in sent[estonian.pk, "sms"].body
    assert "New winter boots in store, Ann" in sent[english.pk, "sms"].body
    subjects = sorted(message.subject for message in mail.outbox)
    assert any("Talvesaapad on kohal" in subject for subject in subjects)
    assert any("Winter boots are here" in subject for subject in subjects)


def test_holdout_members_get_nothing_not_even_the_gift(
    campaign_factory, time_machine, run_tasks_inline, django_capture_on_commit_callbacks, monkeypatch
):
    time_machine.move_to(NOW, tick=False)
    _customers(200)
    monkeypatch.setattr(services, "GIFT_BATCH", 30)  # several gift tasks, each queueing the next
    campaign = campaign_factory(gift_points=50, holdout_percent=20)
    with django_capture_on_commit_callbacks(execute=True):
        services.campaign_launch(campaign=campaign, now=NOW)
    dispatch.drain(now=NOW)
    held = set(CampaignMember.objects.filter(campaign=campaign, holdout=True).values_list("customer_id", flat=True))
    assert held and len(held) < 200
    received = set(services.campaign_rows(campaign).values_list("customer_id", flat=True))
    assert not held & received
    gifted = set(
        BonusTransaction.objects.filter(
            source="campaign", idempotency_key__startswith=f"campaign:{campaign.pk}:"
        ).values_list("account__customer_id", flat=True)
    )
    assert gifted == received and not gifted & held
    # Gifts are once per campaign × customer: running the batches again credits nothing more.
    services.campaign_gifts_grant(campaign_id=campaign.pk)
    assert BonusTransaction.objects.filter(source="campaign").count() == len(gifted)


def test_send_not_before_the_start_and_never_after_the_deadline(campaign_factory, time_machine):
    time_machine.move_to(NOW, tick=False)
    _customers(5)
    start = NOW + datetime.timedelta(days=2)
    campaign = campaign_factory(starts_at=start, deadline=start + datetime.timedelta(days=1), holdout_percent=0)
    services.campaign_launch(campaign=campaign, now=NOW)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    rows = services.campaign_rows(campaign)
    assert all(start <= row.send_at <= campaign.deadline and row.deadline == campaign.deadline for row in rows)
    assert dispatch.drain(now=NOW) == {}
