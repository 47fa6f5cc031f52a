import pytest

from surveys.models import Question, Survey

K, B = Question.Kind, Question.Binding


@pytest.fixture
def preference_survey(db):
    survey = Survey.objects.create(
        slug="what-you-want",
        kind=Survey.Kind.PREFERENCE,
        title="Tell us what you want",
        translations={"ru": {"title": "Расскажите, что вам интересно"}},
    )
    spec = [
        (K.CONSENT, "May we e-mail you news and offers?", B.CONSENT_EMAIL, True),
        (K.MULTIPLE, "Which topics interest you?", B.TOPICS, False),
        (K.TIME_WINDOW, "When do you like to read our messages?", B.TIME_WINDOW, True),
        (K.MULTIPLE, "Which days suit you best?", B.WEEKDAYS, False),
        (K.SINGLE, "How often?", B.FREQUENCY, True),
        (K.CHANNEL, "Bonus messages by?", B.PREFERRED_CHANNEL, False),
        (K.DISTRICT, "Where do you live?", B.HOME_DISTRICT, False),
        (K.DISTRICT, "Where do you work or shop often?", B.DISTRICTS, False),
        (K.TEXT, "Anything else?", B.NONE, False),
        (K.SCALE, "How likely are you to recommend us?", B.NONE, False),
        (K.SINGLE, "Favourite department?", B.NONE, False),
    ]
    for position, (kind, text, binding, required) in enumerate(spec):
        choices = (
            [{"value": "women", "label": "Women's hall"}, {"value": "home", "label": "Home"}]
            if text.startswith("Fav")
            else []
        )
        Question.objects.create(
            survey=survey, position=position, kind=kind, text=text, binding=binding, required=required, choices=choices
        )
    return survey


@pytest.fixture
def feedback_survey(db):
    survey = Survey.objects.create(
        slug="how-was-it",
        kind=Survey.Kind.FEEDBACK,
        title="How was your visit?",
        invite_after_hours=20,
        invite_every_days=90,
        follow_up_below=6,
    )
    Question.objects.create(
        survey=survey, position=0, kind=K.SCALE, text="How likely are you to recommend us?", required=True
    )
    Question.objects.create(survey=survey, position=1, kind=K.TEXT, text="What could we do better?")
    return survey
