import phonenumbers
import pytest
from django.core.management import CommandError, call_command
from django_celery_beat.models import PeriodicTask

from crm.models import Customer, District, Store

COUNTRY_ZONES = {"EE": "Europe/Tallinn", "FI": "Europe/Helsinki", "SE": "Europe/Stockholm", "RU": "Europe/Moscow"}


def test_seed_demo_creates_realistic_customers_in_four_countries(db):
    call_command("seed_demo", "--customers", "80")
    customers = list(Customer.objects.select_related("home_district", "home_store"))
    assert len(customers) == 80
    assert {c.country for c in customers} == set(COUNTRY_ZONES)
    for c in customers:
        assert c.time_zone == COUNTRY_ZONES[c.country]
        assert c.home_district.country == c.country and c.home_store.district.city == c.city
        if c.phone:
            number = phonenumbers.parse(str(c.phone))
            assert phonenumbers.is_valid_number(number)
            assert phonenumbers.region_code_for_number(number) == c.country
        assert c.email or c.phone
    assert Store.objects.count() >= 8 and District.objects.count() >= 20


def test_seed_demo_adds_more_without_collisions_and_if_empty_is_a_no_op(db):
    call_command("seed_demo", "--customers", "30")
    call_command("seed_demo", "--customers", "30")
    assert Customer.objects.count() == 60
    call_command("seed_demo", "--customers", "30", "--if-empty")
    assert Customer.objects.count() == 60


def test_seed_demo_rejects_negative_count(db):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--customers", "-1")


def test_beat_sync_creates_the_fixed_jobs_once_and_keeps_admin_edits(db, settings):
    call_command("beat_sync")
    names = set(PeriodicTask.objects.values_list("name", flat=True))
    assert set(settings.BEAT_JOBS) <= names
    PeriodicTask.objects.filter(name="heartbeat").update(enabled=False)

    call_command("beat_sync")

    assert PeriodicTask.objects.filter(name__in=settings.BEAT_JOBS).count() == len(settings.BEAT_JOBS)
    assert PeriodicTask.objects.get(name="heartbeat").enabled is False


def test_ensure_superuser_is_idempotent(db, monkeypatch, tmp_path, capsys, django_user_model):
    monkeypatch.setenv("ADMIN_USERNAME", "boss")
    monkeypatch.setenv("ADMIN_PASSWORD", "correct horse battery")
    call_command("ensure_superuser")
    call_command("ensure_superuser")
    user = django_user_model.objects.get(username="boss")
    assert user.is_superuser and user.check_password("correct horse battery")
    assert "password: correct horse battery" in capsys.readouterr().out


def test_callback_reminder_goes_to_the_assignee_once(db, customer_factory, django_user_model, mailoutbox):
    import datetime

    from django.utils import timezone

    from crm.models import Callback
    from crm.services import callback_reminders_send, callback_schedule

    agent = django_user_model.objects.create_user("agent", email="agent@shop.example", is_staff=True)
    customer = customer_factory(first_name="Mari")
    callback_schedule(
        customer=customer,
        due_at=timezone.now() - datetime.timedelta(minutes=1),
        subject="Order delay",
        notes="Promised a call about the sofa",
        assigned_to=agent,
    )
    callback_schedule(customer=customer, due_at=timezone.now() + datetime.timedelta(days=1), subject="Later")
    assert callback_reminders_send() == 1
    assert callback_reminders_send() == 0
    [email] = mailoutbox
    assert email.to == ["agent@shop.example"] and "Order delay" in email.subject and "sofa" in email.body
    assert Callback.objects.filter(reminded_at__isnull=False).count() == 1


def test_the_beat_jobs_stay_a_fixed_set_whatever_the_number_of_customers(
    db, settings, django_capture_on_commit_callbacks
):
    """One beat task, many customers: per-customer timing lives in Notification.send_at, never in a
    PeriodicTask, so seeding customers and scheduling their messages adds no periodic task."""
    from django.db import transaction
    from django_celery_beat.models import ClockedSchedule, CrontabSchedule, IntervalSchedule

    from notifications.models import Notification
    from notifications.outbox.fanout import notify_many

    def schedule() -> tuple[int, int, int, int]:
        return (
            PeriodicTask.objects.count(),
            IntervalSchedule.objects.count(),
            CrontabSchedule.objects.count(),
            ClockedSchedule.objects.count(),
        )

    call_command("beat_sync")
    with_no_customers = schedule()
    for customers in (40, 400):
        call_command("seed_demo", "--customers", str(customers))
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            notify_many(
                customers=Customer.objects.all(),
                topic="service",
                context={"title": "Opening hours", "text": "Open until 22 tomorrow."},
                dedupe_prefix=f"hours:{customers}",
            )
        call_command("demo_activity")  # purchases: bonus messages, and the expiry and gift jobs have lots to watch
        call_command("beat_sync")
        assert schedule() == with_no_customers
    assert Notification.objects.count() > 400
    assert with_no_customers[0] == len(settings.BEAT_JOBS)
