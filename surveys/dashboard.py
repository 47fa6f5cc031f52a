"""Surveys' dashboard panel (crm.dashboard): the feedback score (NPS) week by week."""

from django.db.models import Count
from django.db.models.functions import TruncWeek
from django.utils.translation import gettext_lazy as _

from crm.charts import stacked_bars
from crm.dashboard import FEEDBACK, register_panel, week_of, week_starts
from surveys.models import Answer, Question, Survey


def nps_by_week(period) -> dict:
    """{week: [detractors, passives, promoters]} of the 0–10 answers to feedback surveys completed
    in the period: one grouped query (answers per week and score), the score computed here."""
    counts = (
        Answer.objects.filter(
            question__kind=Question.Kind.SCALE,
            question__survey__kind=Survey.Kind.FEEDBACK,
            response__completed_at__gte=period.since,
            response__completed_at__lte=period.now,
        )
        .annotate(week=TruncWeek("response__completed_at"))
        .values_list("week", "value")
        .annotate(n=Count("id"))
        .order_by()
    )
    table: dict = {}
    for week, value, n in counts:
        try:
            score = int(value)
        except (TypeError, ValueError):
            continue
        row = table.setdefault(week_of(week), [0, 0, 0])
        row[0 if score <= 6 else 1 if score <= 8 else 2] += n
    return table


def nps_of(row: list[int]) -> int | None:
    answers = sum(row)
    return round(100 * (row[2] - row[0]) / answers) if answers else None


def _feedback(request, period) -> dict:
    table = nps_by_week(period)
    total = [sum(row[i] for row in table.values()) for i in range(3)]
    rows = []
    for week in week_starts(period.since, period.now):
        row = table.get(week, [0, 0, 0])
        score = nps_of(row)
        label = week.isoformat() if score is None else f"{week.isoformat()} ({score:+d})"
        rows.append((label, row))
    overall = nps_of(total)
    return {
        "figures": [
            (_("NPS in the period"), "—" if overall is None else f"{overall:+d}"),
            (_("answers"), sum(total)),
        ],
        "charts": [
            stacked_bars(
                _("Answers by week (NPS in brackets)"),
                rows,
                [str(_("detractors (0–6)")), str(_("passives (7–8)")), str(_("promoters (9–10)"))],
            )
        ],
    }


def register() -> None:
    register_panel(
        "feedback",
        _("Feedback score (NPS)"),
        _feedback,
        template="admin/crm/dashboard/charts.html",
        permission="surveys.view_results",
        order=FEEDBACK,
    )
