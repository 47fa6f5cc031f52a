"""``manage.py seed_demo``: customers, a ledger-consistent purchase history, preferences and consent, in bulk."""

import datetime
import json
import random
from decimal import Decimal

import phonenumbers
import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import Count, F, Q, Sum

from crm.demo import COUNTRIES, DEMO_PREFIX
from crm.models import Customer
from loyalty.models import BonusAccount, BonusLot, BonusTransaction, LotMovement, Tier
from loyalty.program import lot_expiry, points_for, to_base_currency
from notifications.consent.book import ConsentBook, badge_for
from notifications.models import ConsentEvent, Preference
from tests.loyalty.factories import purchase
from tests.loyalty.test_ledger import assert_ledger_consistent

AT = datetime.datetime(2026, 3, 18, 10, 30, tzinfo=datetime.UTC)


@pytest.fixture
def seeded(db, time_machine):
    time_machine.move_to(AT, tick=False)
    call_command("seed_demo", "--customers", "300", "--seed", "3")
    return list(Customer.objects.filter(external_id__startswith=DEMO_PREFIX).values_list("pk", flat=True))


def test_every_account_agrees_with_its_lots_and_ledger(seeded):
    accounts = BonusAccount.objects.filter(customer_id__in=seeded)
    assert 150 < accounts.count() < 300  # most customers bought something, not all
    by_ledger = dict(accounts.annotate(total=Sum("transactions__points")).values_list("pk", "total"))
    by_lots = dict(accounts.annotate(total=Sum("lots__remaining")).values_list("pk", "total"))
    for account in accounts:
        assert account.balance == by_ledger[account.pk] == by_lots[account.pk] >= 0 and account.debt == 0
    moved = dict(
        LotMovement.objects.values("transaction").annotate(total=Sum("points")).values_list("transaction", "total")
    )
    for pk, points in BonusTransaction.objects.filter(account__in=accounts).values_list("pk", "points"):
        assert moved.get(pk, 0) == points
    left = dict(LotMovement.objects.values("lot").annotate(total=Sum("points")).values_list("lot", "total"))
    for lot in BonusLot.objects.filter(account__in=accounts):
        assert lot.remaining == left[lot.pk] and 0 <= lot.remaining <= lot.points and lot.expires_at > AT
    # The slow helper of the ledger's own tests, on a few of them.
    for account in accounts.order_by("pk")[:5]:
        assert_ledger_consistent(account)


def test_purchases_earn_what_the_programme_gives_and_redemptions_take_the_first_to_expire(seeded, settings):
    accruals = BonusTransaction.objects.filter(account__customer__in=seeded, kind="accrual").select_related("lot")
    assert accruals.count() > 300
    for tx in accruals:
        assert tx.base_amount == to_base_currency(tx.amount, tx.currency)
        assert tx.points == points_for(tx.base_amount, rate=Decimal(settings.LOYALTY_POINTS_PER_UNIT), multipliers=[])
        assert tx.lot.expires_at == lot_expiry(tx.occurred_at) and AT - tx.occurred_at < datetime.timedelta(days=361)
        assert tx.idempotency_key == f"receipt:{tx.receipt_id}:accrual" and tx.source == f"pos:{tx.store.code}"
    assert {tx.currency for tx in accruals} == {"EUR", "SEK", "RUB"}
    redemptions = BonusTransaction.objects.filter(account__customer__in=seeded, kind="redemption")
    assert redemptions.exists()
    for redemption in redemptions:
        lots = list(redemption.account.lots.order_by("expires_at", "pk"))
        taken = {m.lot_id: -m.points for m in redemption.movements.all()}
        assert sum(taken.values()) == -redemption.points
        # First to expire first: every lot before the last one drawn from was emptied.
        last = max(i for i, lot in enumerate(lots) if lot.pk in taken)
        assert all(lot.remaining == 0 for lot in lots[:last])
        accrual = BonusTransaction.objects.get(
            source=redemption.source, receipt_id=redemption.receipt_id, kind="accrual"
        )
        assert redemption.pk < accrual.pk and redemption.occurred_at == accrual.occurred_at


def test_the_services_carry_on_from_a_seeded_history(seeded):
    account = BonusAccount.objects.filter(customer_id__in=seeded, balance__gt=30).order_by("pk").first()
    purchase(account.customer, amount="20", redeem=30)
    assert_ledger_consistent(account)


def test_consent_has_its_evidence_and_every_badge_is_what_the_events_say(seeded):
    preferences = {p.customer_id: p for p in Preference.objects.filter(customer_id__in=seeded)}
    assert set(preferences) == set(seeded)
    book = ConsentBook.for_customers(seeded)
    for customer_id, preference in preferences.items():
        assert preference.badge == badge_for(book, customer_id)
    badges = Preference.objects.filter(customer_id__in=seeded).values("badge").annotate(n=Count("pk"))
    assert {row["badge"] for row in badges} >= {"full", "email_only", "sms_only", "service_only"}
    events = ConsentEvent.objects.filter(customer_id__in=seeded)
    assert set(events.values_list("source", flat=True)) == {"import", "survey"}
    assert not events.filter(Q(wording="") | Q(wording_version="")).exists()
    assert events.filter(scope="topic", action="withdrawn").exists() and events.filter(scope="everything").exists()
    # Nobody agreed on a channel they cannot be reached on.
    assert not events.filter(channel="email", action="granted", customer__email="").exists()
    assert not events.filter(channel="sms", action="granted", customer__phone="").exists()
    # No event before the customer joined or after now.
    assert not events.filter(Q(created_at__lt=F("customer__created_at")) | Q(created_at__gt=AT)).exists()


def test_preferences_carry_windows_languages_channels_and_districts(seeded):
    preferences = Preference.objects.filter(customer_id__in=seeded)
    assert preferences.filter(window_start__isnull=False).count() > 30
    assert preferences.exclude(weekdays=[]).exists() and preferences.exclude(max_per_week={}).exists()
    assert preferences.exclude(language="").exists()
    chose_sms = preferences.filter(preferred_channels__contains={"bonus-credited": "sms"})
    assert chose_sms.exists() and not chose_sms.filter(customer__phone="").exists()
    with_districts = preferences.filter(districts__isnull=False).distinct()
    assert with_districts.exists()
    for preference in with_districts.select_related("customer__home_district"):
        home = preference.customer.home_district
        assert {(d.country, d.city) for d in preference.districts.all()} == {(home.country, home.city)}
    for preference in preferences.exclude(window_start=None):
        preference.full_clean()


def _snapshot() -> list:
    customers = Customer.objects.filter(external_id__startswith=DEMO_PREFIX).order_by("external_id")
    rows = []
    for customer in customers.select_related("preference"):
        account = BonusAccount.objects.filter(customer=customer).first()
        ledger = (
            list(
                account.transactions.order_by("pk").values_list("kind", "points", "occurred_at", "amount", "receipt_id")
            )
            if account
            else []
        )
        consent = list(customer.consent_events.order_by("pk").values_list("scope", "channel", "action", "created_at"))
        preference = customer.preference
        rows.append(
            (
                customer.external_id, str(customer.public_id), customer.email, str(customer.phone), customer.birth_date,
                customer.created_at, ledger, consent, preference.badge, preference.window_start,
                json.dumps(preference.preferred_channels, sort_keys=True),
            )
        )  # fmt: skip
    return rows


def test_the_same_seed_gives_the_same_data(db, time_machine):
    time_machine.move_to(AT, tick=False)
    snapshots = []
    for seed in (5, 5, 6):
        with transaction.atomic():
            call_command("seed_demo", "--customers", "40", "--seed", str(seed))
            snapshots.append(_snapshot())
            transaction.set_rollback(True)
    assert snapshots[0] == snapshots[1] != snapshots[2]
    assert len(snapshots[0]) == 40


def test_a_big_seed_builds_the_indexes_and_checks_the_keys_once_and_leaves_them_as_they_were(db, monkeypatch):
    from notifications.management.commands import seed_demo

    def schema():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid), condeferrable, condeferred "
                "FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
            )
            constraints = sorted(cursor.fetchall())
            cursor.execute("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
            # A partial index rebuilt from its definition may print its predicate's casts differently
            # (same meaning): compare the index itself and whether it is partial.
            return constraints, sorted(
                (table, name, definition.split(" WHERE ")[0], " WHERE " in definition)
                for table, name, definition in cursor.fetchall()
            )

    before = schema()
    monkeypatch.setattr(seed_demo, "BIG_SEED", 10)
    call_command("seed_demo", "--customers", "60")
    assert schema() == before
    assert Preference.objects.count() == 60 and BonusTransaction.objects.exists()


def test_a_broken_row_in_a_big_seed_still_fails_the_whole_seed(db):
    from crm.bulk_load import load_mode, rows_load

    with pytest.raises(Exception, match="foreign key"), transaction.atomic(), load_mode(Preference):
        rows_load(Preference, ("customer", "badge"), [(987654321, "full")])
    assert not Preference.objects.exists()


def test_fast_phone_numbers_are_the_ones_phonenumbers_accepts():
    from crm.demo import _mobile_numbers

    def reference(profile, serial: int) -> str:  # the former loop, one library call per candidate
        while True:
            candidate = f"{profile.mobile_prefix}{serial:07d}"
            if phonenumbers.is_valid_number(phonenumbers.parse(candidate)):
                return candidate
            serial += 1_000_000

    rng = random.Random(1)
    for profile in COUNTRIES:
        mobile = _mobile_numbers(profile)
        for serial in [0, 1, 999_999, *(rng.randrange(1_000_000) for _ in range(300))]:
            assert mobile(serial) == reference(profile, serial)


def test_tiers_are_earned_by_the_year_spend_and_raise_the_rate(db, time_machine):
    time_machine.move_to(AT, tick=False)
    gold = Tier.objects.create(code="gold", name="Gold", min_spend=Decimal("150"), earn_rate=Decimal("2"))
    call_command("seed_demo", "--customers", "120")
    accounts = BonusAccount.objects.annotate(
        spend=Sum("transactions__base_amount", filter=Q(transactions__kind="accrual"))
    )
    assert accounts.filter(tier=gold).exists()
    for account in accounts:
        assert (account.tier_id == gold.pk) == (account.spend >= gold.min_spend)
    for tx in BonusTransaction.objects.filter(kind="accrual").order_by("pk"):
        spent_before = BonusTransaction.objects.filter(
            account=tx.account, kind="accrual", occurred_at__lt=tx.occurred_at
        ).aggregate(total=Sum("base_amount", default=0))["total"]
        rate = gold.earn_rate if spent_before >= gold.min_spend else Decimal(1)
        assert tx.points == points_for(tx.base_amount, rate=rate, multipliers=[])


# `make run`'s seed on a brand-new SQLite database (multi-row INSERTs, no COPY), as the Makefile runs it.
SQLITE_SEED = """
import json
from tests import clock
clock.follow_parent()
from django.core.management import call_command
from django.db.models import Sum
from loyalty.models import BonusAccount
from notifications.consent.book import ConsentBook, badge_for
from notifications.models import ConsentEvent, Preference

call_command("migrate", verbosity=0)
call_command("seed_demo", "--customers", "200", "--if-empty")
call_command("seed_demo", "--customers", "200", "--if-empty")
accounts = BonusAccount.objects.all()
lots = dict(accounts.annotate(t=Sum("lots__remaining")).values_list("pk", "t"))
ledger = dict(accounts.annotate(t=Sum("transactions__points")).values_list("pk", "t"))
book = ConsentBook.for_customers(Preference.objects.values_list("customer_id", flat=True))
print(json.dumps({
    "preferences": Preference.objects.count(),
    "accounts": accounts.count(),
    "balanced": all(a.balance == lots[a.pk] == ledger[a.pk] for a in accounts),
    "badges": all(p.badge == badge_for(book, p.customer_id) for p in Preference.objects.all()),
    "events": ConsentEvent.objects.exclude(wording="").count(),
}))
"""


def test_make_run_seeds_its_small_demo_on_sqlite(tmp_path):
    from tests.test_fresh_clone import _fresh_run

    result = _fresh_run(tmp_path, SQLITE_SEED)
    assert result.returncode == 0, result.stderr
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert outcome["preferences"] == 200 and 100 < outcome["accounts"] < 200, outcome
    assert outcome["balanced"] and outcome["badges"] and outcome["events"] > 50, outcome
    assert "demo data already present" in result.stdout
