"""Loyalty's entries on the customer's timeline (crm.timeline): purchases and bonus events, disputes."""

from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from crm.timeline import Entry, older_than, register_source
from loyalty.models import BonusTransaction, Dispute


def _ledger_rows(customer, before):
    # loyalty_tx_account_idx (account, -occurred_at), the account found by its unique customer.
    return BonusTransaction.objects.filter(account__customer=customer, **older_than("occurred_at", before)).order_by(
        "-occurred_at", "-id"
    )


def _ledger_detail(tx: BonusTransaction) -> str:
    parts = []
    if tx.amount is not None:
        parts.append(_("purchase %(amount)s %(currency)s") % {"amount": tx.amount, "currency": tx.currency})
    if tx.store_id:
        parts.append(str(tx.store))
    if tx.receipt_id:
        parts.append(_("receipt %(receipt)s") % {"receipt": tx.receipt_id})
    if tx.reason:
        parts.append(tx.reason)
    return " · ".join(str(part) for part in parts)


def _ledger(customer, before, limit):
    return [
        Entry(
            at=tx.occurred_at,
            kind="ledger",
            title=_("%(kind)s: %(points)+d points") % {"kind": capfirst(tx.get_kind_display()), "points": tx.points},
            detail=_ledger_detail(tx),
            link=reverse("admin:loyalty_bonustransaction_change", args=[tx.pk]),
        )
        for tx in _ledger_rows(customer, before).select_related("store")[:limit]
    ]


def _dispute_rows(customer, before):
    # The dispute's customer foreign key index: a customer disputes a handful of events.
    return Dispute.objects.filter(customer=customer, **older_than("created_at", before)).order_by("-created_at", "-id")


def _disputes(customer, before, limit):
    return [
        Entry(
            at=d.created_at,
            kind="dispute",
            title=_("Dispute of %(event)s: %(status)s") % {"event": d.transaction, "status": d.get_status_display()},
            detail=" · ".join(part for part in (d.customer_comment, d.staff_note) if part),
            link=reverse("admin:loyalty_dispute_change", args=[d.pk]),
            moments=((_("event"), d.transaction.occurred_at), (_("resolved"), d.resolved_at)) if d.resolved_at else (),
        )
        for d in _dispute_rows(customer, before).select_related("transaction")[:limit]
    ]


def register() -> None:
    register_source(
        "ledger",
        _("Purchases and points"),
        _ledger,
        permission="loyalty.view_bonustransaction",
        rows=_ledger_rows,
    )
    register_source("dispute", _("Disputes"), _disputes, permission="loyalty.view_dispute", rows=_dispute_rows)
