"""Segments: rules → a customer queryset, set-based (one SQL query, however large the segment).

Rules reach loyalty, notification and survey data through the related names those apps put on
Customer, so crm imports none of them (the arrows keep pointing into crm).
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer

KNOWN = {
    "districts", "languages", "badges", "tiers", "gender", "bought_within_days", "min_purchases_12m",
    "min_spend_12m", "answers",
}  # fmt: skip


def validate_rules(rules: dict) -> None:
    if not isinstance(rules, dict):
        raise ValidationError(_("Rules must be an object."))
    unknown = set(rules) - KNOWN
    if unknown:
        raise ValidationError(_("Unknown rules: %(rules)s") % {"rules": ", ".join(sorted(unknown))})
    for answer in rules.get("answers", []):
        if not isinstance(answer, dict) or "question" not in answer or "value" not in answer:
            raise ValidationError(_('Each answer rule needs "question" and "value".'))


def segment_customers(rules: dict, *, now: datetime.datetime | None = None) -> QuerySet[Customer]:
    validate_rules(rules)
    now = now or timezone.now()
    year_ago = now - datetime.timedelta(days=365)
    customers = Customer.objects.filter(is_active=True)
    if rules.get("districts"):
        customers = customers.filter(
            Q(home_district_id__in=rules["districts"]) | Q(preference__districts__in=rules["districts"])
        )
    if rules.get("languages"):
        customers = customers.filter(language__in=rules["languages"])
    if rules.get("badges"):
        customers = customers.filter(preference__badge__in=rules["badges"])
    if rules.get("tiers"):
        customers = customers.filter(bonus_account__tier__code__in=rules["tiers"])
    if rules.get("gender"):
        customers = customers.filter(gender=rules["gender"])
    if rules.get("bought_within_days"):
        since = now - datetime.timedelta(days=int(rules["bought_within_days"]))
        customers = customers.filter(
            bonus_account__transactions__kind="accrual", bonus_account__transactions__occurred_at__gte=since
        )
    if rules.get("min_purchases_12m") or rules.get("min_spend_12m"):
        last_year = Q(
            bonus_account__transactions__kind="accrual", bonus_account__transactions__occurred_at__gte=year_ago
        )
        customers = customers.annotate(
            purchases_12m=Count("bonus_account__transactions", filter=last_year),
            spend_12m=Sum("bonus_account__transactions__base_amount", filter=last_year),
        )
        if rules.get("min_purchases_12m"):
            customers = customers.filter(purchases_12m__gte=int(rules["min_purchases_12m"]))
        if rules.get("min_spend_12m"):
            customers = customers.filter(spend_12m__gte=Decimal(str(rules["min_spend_12m"])))
    for answer in rules.get("answers", []):
        from django.apps import apps

        answer_model = apps.get_model("surveys", "Answer")
        value = answer["value"]
        matches = answer_model.objects.filter(
            response__customer=OuterRef("pk"), response__completed_at__isnull=False, question_id=answer["question"]
        ).filter(Q(value=value) | Q(value__contains=[value]))
        customers = customers.filter(Exists(matches))
    return customers.distinct()
