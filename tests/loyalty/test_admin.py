import re

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import BonusAccount, BonusTransaction, Dispute, PosApiKey
from tests.admin_queries import unindexed_reads, whole_table_aggregates
from tests.loyalty.factories import TierFactory, purchase


@pytest.fixture
def account(customer, store):
    for _ in range(5):
        purchase(customer, store=store, amount="20", cashier_id="K1")
    return customer.bonus_account


def test_account_page_shows_ledger_and_lots_with_bounded_queries(staff_client, account, django_assert_max_num_queries):
    with django_assert_max_num_queries(20):
        response = staff_client.get(reverse("admin:loyalty_bonusaccount_change", args=[account.pk]))
    assert response.status_code == 200
    assert "Adjust balance" in response.content.decode()


def test_accounts_changelist_and_liability_report(staff_client, account, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert staff_client.get(reverse("admin:loyalty_bonusaccount_changelist")).status_code == 200
    report = staff_client.get(reverse("admin:loyalty_liability"))
    assert report.status_code == 200
    assert report.context["report"]["outstanding"] == 100


def test_staff_adjustment_with_reason(staff_client, account, admin_user):
    url = reverse("admin:loyalty_bonusaccount_adjust", args=[account.pk])
    missing = staff_client.post(url, {"points": "5", "reason": ""})
    assert missing.status_code == 200 and missing.context["form"].errors
    too_much = staff_client.post(url, {"points": "-500", "reason": "fix"})
    assert "available" in str(too_much.context["form"].errors)
    ok = staff_client.post(url, {"points": "-30", "reason": "double scan at till 2"})
    assert ok.status_code == 302
    tx = BonusTransaction.objects.get(kind="adjustment")
    assert (tx.points, tx.staff, tx.reason) == (-30, admin_user, "double scan at till 2")


def test_dispute_queue_counts_per_store_and_cashier(staff_client, account, admin_user):
    for tx in BonusTransaction.objects.filter(kind="accrual")[:3]:
        services.dispute_open(transaction_id=tx.pk, customer=account.customer, comment="not me")
    first = Dispute.objects.first()
    services.dispute_resolve(dispute=first, status=Dispute.Status.CONFIRMED, staff=admin_user)
    response = staff_client.get(reverse("admin:loyalty_dispute_changelist"))
    assert response.status_code == 200
    by_cashier = response.context["counts"]["by_cashier"]
    assert by_cashier == [
        {"transaction__store__code": "TLN-01", "transaction__cashier_id": "K1", "open": 2, "confirmed": 1}
    ]


def test_dispute_is_recorded_once_per_event(account):
    tx = BonusTransaction.objects.filter(kind="accrual").first()
    a = services.dispute_open(transaction_id=tx.pk, customer=account.customer, comment="")
    b = services.dispute_open(transaction_id=tx.pk, customer=account.customer, comment="I was abroad")
    assert a.pk == b.pk and Dispute.objects.get().customer_comment == "I was abroad"


def test_pos_key_created_in_admin_is_shown_once(staff_client, store):
    response = staff_client.post(
        reverse("admin:loyalty_posapikey_add"),
        {"store": store.pk, "name": "till 2", "is_active": "on"},
        follow=True,
    )
    key = PosApiKey.objects.get()
    shown = [str(m) for m in response.context["messages"]]
    assert any(key.prefix in message for message in shown)


def test_account_page_shows_the_debt_and_the_ledger_lines_behind_it(staff_client, customer, store):
    purchase(customer, store=store, amount="100", receipt_id="EARN")
    purchase(customer, store=store, amount="0", redeem=90)
    services.purchase_reverse(store=store, receipt_id="EARN")
    account = customer.bonus_account

    response = staff_client.get(reverse("admin:loyalty_bonusaccount_change", args=[account.pk]))

    assert response.status_code == 200
    assert "debt" in response.context["adminform"].readonly_fields
    assert not response.context["adminform"].form.fields  # nothing on the page edits the ledger
    content = response.content.decode()
    shown_debt = re.search(r'field-debt">.*?<div class="readonly">([^<]*)</div>', content, re.DOTALL)
    assert shown_debt.group(1) == "90"  # beside the balance
    ledger_debt_changes = re.findall(r'field-debt_change">\s*<p>([^<]*)</p>', content)
    assert sorted(ledger_debt_changes) == ["0", "0", "0", "90"]  # the reversal ran it up


# --- At scale: a million accounts, tens of millions of ledger lines -------------------------------------


@pytest.fixture
def ledger_rows(customer_factory, store):
    """30 accounts with a tier and a purchase each, every one its own customer: an N+1 shows."""
    tier = TierFactory(code="gold")
    customers = customer_factory.create_batch(30)
    for customer in customers:
        purchase(customer, store=store, amount="20")
    BonusAccount.objects.update(tier=tier)
    return customers


# The queries each changelist runs: session, user, the planner's estimate, a bounded count, the
# page, the filter's choices (tiers; stores).
LOYALTY_CHANGELISTS = {"bonusaccount": 6, "bonustransaction": 6}


@pytest.mark.parametrize("model", LOYALTY_CHANGELISTS)
def test_changelist_counts_no_whole_table_and_runs_bounded_queries(
    staff_client, ledger_rows, model, django_assert_max_num_queries
):
    with django_assert_max_num_queries(LOYALTY_CHANGELISTS[model]) as captured:
        response = staff_client.get(reverse(f"admin:loyalty_{model}_changelist"), {"_facets": "1"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 30
    assert whole_table_aggregates(captured.captured_queries, f"loyalty_{model}") == []


def test_ledger_is_listed_latest_recorded_first(staff_client, ledger_rows):
    response = staff_client.get(reverse("admin:loyalty_bonustransaction_changelist"))
    cl = response.context["cl"]
    assert cl.queryset.query.order_by[0] == "-id"
    assert [tx.pk for tx in cl.result_list] == sorted((tx.pk for tx in cl.result_list), reverse=True)


@pytest.mark.parametrize("by", ["receipt", "card", "email"])
def test_ledger_search_by_receipt_or_customer_is_served_by_indexes(staff_client, ledger_rows, store, by):
    customer = ledger_rows[7]
    purchase(customer, store=store, amount="30", receipt_id="R-FIND-ME")
    term = {"receipt": "R-FIND-ME", "card": customer.external_id, "email": customer.email}[by]
    response = staff_client.get(reverse("admin:loyalty_bonustransaction_changelist"), {"q": term})
    found = response.context["cl"].queryset
    assert {tx.account.customer_id for tx in found} == {customer.pk}
    assert ("R-FIND-ME" in {tx.receipt_id for tx in found}) and (by != "receipt" or found.count() == 1)
    assert unindexed_reads(found) == []


def test_account_page_shows_the_latest_ledger_lines_and_first_lots_only(
    staff_client, customer, store, django_assert_max_num_queries
):
    for n in range(60):
        purchase(customer, store=store, amount="10", receipt_id=f"MANY-{n:02d}")
    account = customer.bonus_account
    # Session, user, the account with its customer, the lots, the ledger lines; the content type
    # (until Django caches it).
    with django_assert_max_num_queries(6):
        response = staff_client.get(reverse("admin:loyalty_bonusaccount_change", args=[account.pk]))
    content = response.content.decode()
    receipts = re.findall(r"MANY-(\d\d)", content)
    assert sorted(set(receipts)) == [f"{n:02d}" for n in range(10, 60)]  # the latest 50 lines
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == 20  # lots: the first 20
    whole_ledger = reverse("admin:loyalty_bonustransaction_changelist") + f"?account__id__exact={account.pk}"
    assert whole_ledger.replace("&", "&amp;") in content or whole_ledger in content
    assert staff_client.get(whole_ledger).context["cl"].result_count == 60


@pytest.mark.parametrize("kind", ["reversal", "adjustment", "gift"])
def test_a_rare_kind_of_ledger_line_is_looked_up_in_an_index(staff_client, ledger_rows, kind):
    cl = staff_client.get(reverse("admin:loyalty_bonustransaction_changelist"), {"kind__exact": kind}).context["cl"]
    assert list(cl.result_list) == []
    assert unindexed_reads(cl.queryset) == []
