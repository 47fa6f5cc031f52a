from collections import Counter
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q
from django.utils.translation import gettext

from crm.models import District
from surveys.models import Answer, Question, Response, Survey


def nps(scores: list[int]) -> int | None:
    """Net Promoter Score: % of 9–10 minus % of 0–6, over all 0–10 answers."""
    if not scores:
        return None
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return round(100 * (promoters - detractors) / len(scores))


def survey_results(survey: Survey) -> list[dict]:
    """Per question: answer counts (choices), distribution and NPS (0–10), or the texts."""
    questions = list(survey.questions.all())
    by_question: dict[int, list] = {q.pk: [] for q in questions}
    answers = Answer.objects.filter(question__survey=survey, response__completed_at__isnull=False)
    for question_id, value in answers.values_list("question_id", "value"):
        by_question[question_id].append(value)
    results = []
    for question in questions:
        values = by_question[question.pk]
        row = {"question": question, "answered": len(values)}
        if question.kind == Question.Kind.TEXT:
            row["texts"] = values
        elif question.kind == Question.Kind.SCALE:
            scores = [int(v) for v in values]
            row["counts"] = [(str(n), scores.count(n)) for n in range(11)]
            row["nps"] = nps(scores)
        else:
            flat = [str(item) for v in values for item in (v if isinstance(v, list) else [v])]
            row["counts"] = Counter(flat).most_common()
        top = max((n for _label, n in row.get("counts", [])), default=0) or 1
        row["bars"] = [(label, n, round(100 * n / top)) for label, n in row.get("counts", [])]
        results.append(row)
    return results


def responses_for_export(survey: Survey):
    return Response.objects.filter(survey=survey).select_related("customer").prefetch_related("answers").order_by("id")


# --- Results by district ------------------------------------------------------------------------

# One row per element of an answer's value: a list gives its items, anything else itself.
_EXPLODE = {
    "postgresql": (
        "CROSS JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(a.value) = 'array' "
        "THEN a.value ELSE jsonb_build_array(a.value) END) AS e(item)",
        "e.item",
    ),
    "sqlite": ("JOIN json_each(a.value) AS e", "CAST(e.value AS TEXT)"),
}


@dataclass(frozen=True)
class DistrictFigures:
    district: District | None
    respondents: int
    answers: int

    @property
    def label(self) -> str:
        return str(self.district) if self.district else gettext("unknown")


@dataclass(frozen=True)
class ChoiceFigures:
    value: str
    label: str
    answers: int
    respondents: int


@dataclass
class DistrictResults:
    """A survey's completed answers by where the respondents live and work, and one question's answers.

    ``home``: by the respondent's home district (Customer.home_district); ``work``: by the districts
    they named as where they work or shop often (answers to a district question bound to
    "districts"), a respondent counting in each they named. ``answers`` counts the answers these
    respondents gave (to ``question`` when one is chosen). ``choices``: each value of the
    question's answers (a choice, a district, a score), how often it was chosen and by how many.
    """

    survey: Survey | None
    question: Question | None
    respondents: int
    home: list[DistrictFigures]
    work: list[DistrictFigures]
    choices: list[ChoiceFigures]


def district_results(*, survey: Survey | None = None, question: Question | None = None) -> DistrictResults:
    """A handful of grouped queries, whatever the number of responses."""
    responses = Response.objects.filter(completed_at__isnull=False)
    if survey is not None:
        responses = responses.filter(survey=survey)
    answers = Count("answers", filter=Q(answers__question=question)) if question is not None else Count("answers")
    home_rows = (
        responses.values("customer__home_district")
        .annotate(respondents=Count("customer", distinct=True), answers=answers)
        .order_by()
    )
    home_counts = {row["customer__home_district"]: (row["respondents"], row["answers"]) for row in home_rows}
    work_counts = _work_counts(survey, question)
    choice_rows = _choice_counts(survey, question) if question is not None else []
    districts = District.objects.in_bulk(
        {pk for pk in (*home_counts, *work_counts) if pk is not None}
        | ({int(v) for v, _a, _r in choice_rows if v.isdigit()} if question and question.kind == "district" else set())
    )

    def figures(counts: dict) -> list[DistrictFigures]:
        rows = [DistrictFigures(districts.get(pk), *numbers) for pk, numbers in counts.items()]
        return sorted(rows, key=lambda row: (-row.respondents, -row.answers, row.label))

    return DistrictResults(
        survey=survey,
        question=question,
        respondents=responses.values("customer").distinct().count(),
        home=figures(home_counts),
        work=figures(work_counts),
        choices=[
            ChoiceFigures(value, _choice_label(question, value, districts), answers, respondents)
            for value, answers, respondents in choice_rows
        ],
    )


def _scope(survey: Survey | None) -> tuple[str, list]:
    sql = "SELECT id, customer_id FROM surveys_response WHERE completed_at IS NOT NULL"
    return (sql + " AND survey_id = %s", [survey.pk]) if survey is not None else (sql, [])


def _work_counts(survey: Survey | None, question: Question | None) -> dict[int, tuple[int, int]]:
    explode, item = _EXPLODE[connection.vendor]
    scope, params = _scope(survey)
    given_filter = "WHERE a.question_id = %s" if question is not None else ""
    sql = f"""
        WITH resp AS ({scope}),
        work AS (
            SELECT DISTINCT resp.customer_id, {item} AS district
            FROM surveys_answer a JOIN resp ON resp.id = a.response_id
            JOIN surveys_question q ON q.id = a.question_id {explode}
            WHERE q.kind = 'district' AND q.binding = 'districts'
        ),
        given AS (
            SELECT resp.customer_id, COUNT(*) AS n
            FROM surveys_answer a JOIN resp ON resp.id = a.response_id {given_filter}
            GROUP BY resp.customer_id
        )
        SELECT work.district, COUNT(*), COALESCE(SUM(given.n), 0)
        FROM work LEFT JOIN given ON given.customer_id = work.customer_id
        GROUP BY work.district
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *([question.pk] if question is not None else [])])
        return {int(district): (respondents, answers) for district, respondents, answers in cursor.fetchall()}


def _choice_counts(survey: Survey | None, question: Question) -> list[tuple[str, int, int]]:
    explode, item = _EXPLODE[connection.vendor]
    scope, params = _scope(survey)
    sql = f"""
        WITH resp AS ({scope})
        SELECT {item}, COUNT(*), COUNT(DISTINCT resp.customer_id)
        FROM surveys_answer a JOIN resp ON resp.id = a.response_id {explode}
        WHERE a.question_id = %s
        GROUP BY {item}
        ORDER BY 2 DESC, 1
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, question.pk])
        return [(str(value), answers, respondents) for value, answers, respondents in cursor.fetchall()]


def _choice_label(question: Question, value: str, districts: dict[int, District]) -> str:
    if question.kind == Question.Kind.DISTRICT and value.isdigit() and int(value) in districts:
        return str(districts[int(value)])
    for choice in question.choices or []:
        if str(choice.get("value")) == value:
            return choice.get("label") or value
    return value
