from django.db.models import Count, QuerySet
from django.db.models.functions import TruncMonth

from crm.models import Customer
from notifications.models import ConsentEvent, Notification, Preference, Topic, UnsubscribeFeedback


def customer_notifications(customer: Customer) -> QuerySet[Notification]:
    """Every message planned for a customer, newest first, with the decision and its reason."""
    return Notification.objects.filter(customer=customer).select_related("topic").order_by("-created_at", "-id")


def chosen_language(customer: Customer) -> str:
    """The language the customer chose for their messages and pages; "" when they chose none."""
    return Preference.objects.filter(customer=customer).values_list("language", flat=True).first() or ""


def marketing_topics() -> QuerySet[Topic]:
    return Topic.objects.filter(kind=Topic.Kind.MARKETING, is_active=True).order_by("name")


def customer_consent_history(customer: Customer) -> QuerySet[ConsentEvent]:
    return (
        ConsentEvent.objects.filter(customer=customer).select_related("topic", "staff").order_by("-created_at", "-id")
    )


def _bars(rows, label_key: str) -> list[dict]:
    rows = list(rows)
    top = max((row["n"] for row in rows), default=0) or 1
    return [
        {
            "label": row[label_key] if row[label_key] not in (None, "") else "—",
            "n": row["n"],
            "percent": round(100 * row["n"] / top),
        }
        for row in rows
    ]


def unsubscribe_analytics() -> dict:
    """Why customers unsubscribe, from what, and what they chose instead of leaving."""
    feedback = UnsubscribeFeedback.objects.all()
    count = Count("id")
    instead = feedback.filter(choice__in=[UnsubscribeFeedback.Choice.FEWER, UnsubscribeFeedback.Choice.SWITCH])
    badges = dict(Preference.objects.values_list("badge").annotate(n=Count("id")))
    return {
        "total": feedback.count(),
        "by_reason": _bars(feedback.values("reason__label").annotate(n=count).order_by("-n"), "reason__label"),
        "by_topic": _bars(feedback.values("topic__name").annotate(n=count).order_by("-n"), "topic__name"),
        "by_channel": _bars(feedback.values("channel").annotate(n=count).order_by("-n"), "channel"),
        "by_campaign": _bars(
            feedback.exclude(campaign="").values("campaign").annotate(n=count).order_by("-n")[:20], "campaign"
        ),
        "by_month": _bars(
            feedback.annotate(month=TruncMonth("created_at")).values("month").annotate(n=count).order_by("month"),
            "month",
        ),
        "by_choice": _bars(feedback.values("choice").annotate(n=count).order_by("-n"), "choice"),
        "stayed": instead.count(),
        "switched_to": _bars(
            instead.exclude(switch_to="").values("switch_to").annotate(n=count).order_by("-n"), "switch_to"
        ),
        "free_texts": feedback.exclude(free_text="").select_related("topic", "reason").order_by("-created_at")[:100],
        "badges": _bars(
            [{"badge": badge, "n": n} for badge, n in sorted(badges.items(), key=lambda kv: -kv[1])], "badge"
        ),
        "coverage": _bars(
            [
                {"channel": "email", "n": badges.get("full", 0) + badges.get("email_only", 0)},
                {"channel": "sms", "n": badges.get("full", 0) + badges.get("sms_only", 0)},
            ],
            "channel",
        ),
    }
