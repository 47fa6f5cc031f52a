import re

import pytest
from django.urls import reverse

from loyalty import services
from loyalty.models import BonusTransaction, Dispute, PosApiKey
from tests.loyalty.factories import purchase


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
