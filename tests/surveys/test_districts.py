"""Survey results by district: figures from the respondents' home and work districts and from a
"where would you like a store" question, the staff page with its SVG charts, and the CSV export."""

import csv
import datetime
import io

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from audit.models import AuditEntry
from crm import roles
from surveys.models import Answer, Question, Response, Survey
from surveys.selectors import district_results

K, B = Question.Kind, Question.Binding
DONE = datetime.datetime(2026, 3, 2, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture
def town(district_factory, customer_factory):
    kesklinn = district_factory(name="Kesklinn", city="Tallinn")
    kalamaja = district_factory(name="Kalamaja", city="Tallinn")
    mustamae = district_factory(name="Mustamäe", city="Tallinn")
    survey = Survey.objects.create(slug="new-store", kind=Survey.Kind.VOTE, title="Where should we open?")
    other = Survey.objects.create(slug="other", kind=Survey.Kind.VOTE, title="Another survey")
    q = {
        "work": Question.objects.create(survey=survey, position=1, kind=K.DISTRICT, text="Work?", binding=B.DISTRICTS),
        "store": Question.objects.create(
            survey=survey, position=2, kind=K.DISTRICT, text="Where would you like a new store?"
        ),
        "hall": Question.objects.create(
            survey=survey,
            position=3,
            kind=K.SINGLE,
            text="Which hall?",
            choices=[{"value": "women", "label": "Women's hall"}, {"value": "home", "label": "Home"}],
        ),
    }
    other_q = Question.objects.create(survey=other, position=1, kind=K.DISTRICT, text="Elsewhere?")

    def answered(customer, answers, *, completed=True, in_survey=survey):
        response = Response.objects.create(
            survey=in_survey, customer=customer, completed_at=DONE if completed else None
        )
        for question, value in answers.items():
            Answer.objects.create(response=response, question=question, value=value)

    mari = customer_factory(home_district=kesklinn)
    answered(mari, {q["work"]: [kalamaja.pk, mustamae.pk], q["store"]: mustamae.pk, q["hall"]: "women"})
    juri = customer_factory(home_district=kesklinn)
    answered(juri, {q["work"]: [kalamaja.pk], q["store"]: mustamae.pk})
    kati = customer_factory(home_district=kalamaja)
    answered(kati, {q["work"]: [], q["store"]: kesklinn.pk})
    nobody_knows = customer_factory(home_district=None)
    answered(nobody_knows, {q["store"]: mustamae.pk})
    # Not counted: an unfinished response, and another survey's answers (when one survey is chosen).
    answered(customer_factory(home_district=mustamae), {q["store"]: kesklinn.pk}, completed=False)
    answered(mari, {other_q: kesklinn.pk}, in_survey=other)
    return {"survey": survey, "q": q, "kesklinn": kesklinn, "kalamaja": kalamaja, "mustamae": mustamae}


def _figures(rows):
    return {row.label: (row.respondents, row.answers) for row in rows}


def test_figures_by_home_and_work_district_and_by_store_answer(town, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        results = district_results(survey=town["survey"], question=town["q"]["store"])

    assert results.respondents == 4
    assert _figures(results.home) == {"Kesklinn, Tallinn": (2, 2), "Kalamaja, Tallinn": (1, 1), "unknown": (1, 1)}
    assert _figures(results.work) == {"Kalamaja, Tallinn": (2, 2), "Mustamäe, Tallinn": (1, 1)}
    assert [(c.label, c.answers, c.respondents) for c in results.choices] == [
        ("Mustamäe, Tallinn", 3, 3),
        ("Kesklinn, Tallinn", 1, 1),
    ]


def test_without_a_question_every_answer_counts_and_choice_labels_are_read(town):
    results = district_results(survey=town["survey"])
    assert _figures(results.home) == {"Kesklinn, Tallinn": (2, 5), "Kalamaja, Tallinn": (1, 2), "unknown": (1, 1)}
    assert _figures(results.work) == {"Kalamaja, Tallinn": (2, 5), "Mustamäe, Tallinn": (1, 3)}
    assert results.choices == []

    hall = district_results(survey=town["survey"], question=town["q"]["hall"])
    assert [(c.value, c.label, c.answers) for c in hall.choices] == [("women", "Women's hall", 1)]

    everywhere = district_results()  # every survey: Mari's other answer counts too
    assert _figures(everywhere.home)["Kesklinn, Tallinn"] == (2, 6)


def _user(name, group):
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def test_the_page_shows_tables_and_svg_charts_and_exports_csv_with_an_audit_entry(client, town):
    marketing = _user("marketing", roles.MARKETING)
    client.force_login(marketing)
    survey = town["survey"]

    changelist = client.get(reverse("admin:surveys_survey_changelist")).content.decode()
    assert f"{reverse('admin:surveys_survey_districts')}?survey={survey.pk}" in changelist
    page = client.get(reverse("admin:surveys_survey_districts"), {"survey": survey.pk})

    assert page.status_code == 200
    assert page.context["results"].question == town["q"]["store"]  # the survey's store question first
    html = page.content.decode()
    content = html.split('id="content"')[1].split("<!-- END Content -->")[0]
    assert content.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart"') == 3 and "<script" not in content
    assert "Mustamäe, Tallinn" in html and "Where would you like a new store?" in html

    export = client.get(page.context["export_url"])
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode())))
    assert rows[0] == ["table", "district_or_answer", "respondents", "answers"]
    assert ["home district", "Kesklinn, Tallinn", "2", "2"] in rows
    assert ["work district", "Kalamaja, Tallinn", "2", "2"] in rows
    assert ["answer: Where would you like a new store?", "Mustamäe, Tallinn", "3", "3"] in rows
    entry = AuditEntry.objects.get(action="export", object_type="surveys.survey")
    assert entry.actor == marketing and entry.object_id == str(survey.pk)
    assert entry.changes["report"] == [None, "districts"]


def test_a_question_of_another_survey_is_refused_and_others_may_not_look(client, town):
    client.force_login(_user("marketing", roles.MARKETING))
    other_question = Question.objects.get(text="Elsewhere?")
    page = client.get(
        reverse("admin:surveys_survey_districts"), {"survey": town["survey"].pk, "question": other_question.pk}
    )
    assert page.status_code == 200 and page.context["results"] is None and page.context["form"].errors

    client.force_login(_user("service", roles.CUSTOMER_SERVICE))
    assert client.get(reverse("admin:surveys_survey_districts")).status_code == 403
    assert client.get(reverse("admin:surveys_survey_districts_export")).status_code == 403
