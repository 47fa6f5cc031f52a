from collections import Counter

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
