"""The staff dashboard: each panel's figures against known data, drawn as SVG with its table."""

import datetime

import pytest
import time_machine
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm import dashboard, roles
from crm.dashboard import Period, register_panel, unregister_panel
from crm.models import Callback, StaffProfile
from loyalty.dashboard import liability_ahead
from loyalty.models import BonusLot
from notifications.consent.services import consent_record
from notifications.dashboard import consent_coverage, messages_by_week, unsubscribe_figures
from notifications.models import Notification, Preference, UnsubscribeFeedback, UnsubscribeReason
from surveys.dashboard import nps_by_week
from surveys.models import Answer, Question, Response, Survey
from tests.admin_queries import unindexed_reads, whole_table_aggregates
from tests.loyalty.factories import purchase
from tests.notifications.factories import due_notification

UTC = datetime.UTC
NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # a Thursday
MONDAY = datetime.date(2026, 11, 23)
PERIOD = Period(weeks=4, now=NOW)


def role_user(name: str) -> User:
    user = User.objects.create_user(name.replace(" ", "-"), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=name))
    return user


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def _message(customer, status, at, channel="email"):
    with time_machine.travel(at, tick=False):
        return due_notification(customer, "service", channel=channel, status=status)


@pytest.fixture
def outbox(customer_factory):
    customer = customer_factory()
    for _n in range(3):
        _message(customer, "sent", NOW - datetime.timedelta(days=1))
    _message(customer, "suppressed", NOW - datetime.timedelta(days=1))
    _message(customer, "failed", NOW - datetime.timedelta(days=8), channel="sms")
    _message(customer, "failed", NOW - datetime.timedelta(days=8), channel="sms")
    _message(customer, "sent", NOW - datetime.timedelta(weeks=10))  # before the period
    return customer


def test_messages_per_channel_outcome_and_week(outbox):
    table = messages_by_week(PERIOD)
    assert table["email"] == {MONDAY: [3, 0, 1, 0, 0]}
    assert table["sms"] == {MONDAY - datetime.timedelta(days=7): [0, 0, 0, 2, 0]}


def test_the_period_is_read_by_an_index_and_never_counts_the_whole_outbox(outbox, admin_user, client, frozen):
    in_period = Notification.objects.filter(created_at__gte=PERIOD.since, created_at__lte=PERIOD.now)
    assert unindexed_reads(in_period) == []
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(reverse("admin:dashboard")).status_code == 200
    assert whole_table_aggregates(captured.captured_queries, "notifications_notification") == []


def test_unsubscribe_rate_and_top_reasons(outbox, frozen):
    too_many = UnsubscribeReason.objects.create(code="too-many-x", label="Too many messages")
    for _n in range(2):
        UnsubscribeFeedback.objects.create(customer=outbox, channel="email", choice="fewer", reason=too_many)
    UnsubscribeFeedback.objects.create(customer=outbox, channel="email", choice="topic")
    consent_record(customer=outbox, channel="email", action="withdrawn", source="unsubscribe")
    figures = unsubscribe_figures(PERIOD)
    assert figures["sent"] == 3 and figures["withdrawals"] == 1 and figures["rate"] == 33.33
    assert figures["reasons"] == [("Too many messages", 2), ("no reason given", 1)]


def test_consent_coverage_per_channel(customer_factory, frozen):
    badges = ["full", "full", "email_only", "sms_only", "service_only"]
    for badge in badges:
        Preference.objects.update_or_create(customer=customer_factory(), defaults={"badge": badge})
    customer = customer_factory()
    consent_record(customer=customer, channel="sms", action="granted", source="survey")
    data = consent_coverage(PERIOD)
    assert data["customers"] == Preference.objects.count()
    assert data["coverage"]["email"] == Preference.objects.filter(badge__in=["full", "email_only"]).count() >= 3
    assert data["coverage"]["sms"] == Preference.objects.filter(badge__in=["full", "sms_only"]).count() >= 3
    assert data["changes"]["sms"][0] >= 1


def test_liability_is_the_open_lots_remainders_and_expiries_ahead(customer_factory, store_factory, frozen):
    customer, store = customer_factory(), store_factory()
    for _n in range(5):
        purchase(customer, store=store, amount="100.00", occurred_at=NOW - datetime.timedelta(days=1))
    lots = list(BonusLot.objects.order_by("pk"))
    plan = [(10, 10), (20, 45), (40, 200), (0, 20), (5, -3)]  # (remaining, expires in days): spent, expired
    for lot, (remaining, days) in zip(lots, plan, strict=True):
        BonusLot.objects.filter(pk=lot.pk).update(remaining=remaining, expires_at=NOW + datetime.timedelta(days=days))
    figures = liability_ahead(NOW)
    assert figures["outstanding"] == 70 and figures["accounts"] == 1
    assert (figures["within_30"], figures["within_60"], figures["within_90"]) == (10, 30, 30)


def test_nps_week_by_week(customer_factory):
    survey = Survey.objects.create(slug="visit", kind=Survey.Kind.FEEDBACK, title="Visit")
    question = Question.objects.create(survey=survey, kind=Question.Kind.SCALE, text="Recommend?")
    for score, days in [(10, 1), (9, 1), (3, 2), (7, 2), (0, 9), (10, 60)]:
        response = Response.objects.create(
            survey=survey, customer=customer_factory(), completed_at=NOW - datetime.timedelta(days=days)
        )
        Answer.objects.create(response=response, question=question, value=score)
    table = nps_by_week(PERIOD)
    assert table == {MONDAY: [1, 1, 2], MONDAY - datetime.timedelta(days=7): [1, 0, 0]}


def test_calls_due_are_the_staff_members_own_and_unassigned(client, customer, admin_user, frozen):
    other = User.objects.create_user("other", is_staff=True)
    soon = NOW + datetime.timedelta(hours=2)
    for subject, who, due, status in [
        ("Mine", admin_user, soon, "open"),
        ("Anyone's", None, NOW - datetime.timedelta(hours=1), "open"),
        ("Theirs", other, soon, "open"),
        ("Done", admin_user, soon, "done"),
        ("Next week", admin_user, NOW + datetime.timedelta(days=7), "open"),
    ]:
        Callback.objects.create(customer=customer, subject=subject, assigned_to=who, due_at=due, status=status)
    client.force_login(admin_user)
    response = client.get(reverse("admin:dashboard"))
    [panel] = [p for p in response.context["panels"] if p["panel"].key == "callbacks"]
    assert [row["callback"].subject for row in panel["callbacks"]] == ["Anyone's", "Mine"]
    assert panel["callbacks"][0]["overdue"] and "(customer)" in panel["callbacks"][0]["when"]


def test_the_page_draws_svg_with_tables_in_bounded_queries(
    client, admin_user, outbox, frozen, django_assert_max_num_queries
):
    StaffProfile.objects.create(user=admin_user, time_zone="Europe/Tallinn")
    client.force_login(admin_user)
    with django_assert_max_num_queries(18):
        response = client.get(reverse("admin:dashboard"), {"weeks": "4"})
    page = response.content.decode()
    assert page.count("<svg viewBox") >= 4 and "<table>" in page and "<script" not in page.split("</header>")[1]
    keys = [p["panel"].key for p in response.context["panels"]]
    assert keys == ["callbacks", "messages", "unsubscribes", "consent", "liability", "feedback", "campaigns"]
    assert 'href="/admin/dashboard/"' in client.get(reverse("admin:index")).content.decode()


@pytest.mark.parametrize(
    ("role", "keys"),
    [
        (roles.CUSTOMER_SERVICE, ["callbacks", "messages", "consent"]),
        (roles.MARKETING, ["unsubscribes", "feedback", "campaigns"]),
        (roles.STORE_MANAGER, ["callbacks"]),
        (roles.DATA_PROTECTION_OFFICER, ["consent"]),
    ],
)
def test_each_role_sees_the_panels_it_may(db, client, role, keys):
    client.force_login(role_user(role))
    response = client.get(reverse("admin:dashboard"))
    assert [p["panel"].key for p in response.context["panels"]] == keys


def test_a_staff_member_with_no_role_may_not_open_it(db, client):
    client.force_login(User.objects.create_user("nobody", is_staff=True))
    assert client.get(reverse("admin:dashboard")).status_code == 403


def test_another_app_fills_a_slot(staff_client):
    def build(request, period):
        return {"figures": [("sent by pigeons", 42)], "charts": []}

    register_panel(
        "pigeons",
        "Pigeon post",
        build,
        template="admin/crm/dashboard/charts.html",
        permission="crm.view_customer",
        order=dashboard.CAMPAIGNS + 1,
    )
    try:
        response = staff_client.get(reverse("admin:dashboard"))
    finally:
        unregister_panel("pigeons")
    assert [p["panel"].key for p in response.context["panels"]][-1] == "pigeons"
    assert "sent by pigeons" in response.content.decode()
