from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from crm.models import District
from notifications.models import Channel, Topic
from notifications.public.forms import WEEKDAYS
from surveys.models import Question

WINDOWS = [
    ("08:00-12:00", _("mornings (8–12)")),
    ("12:00-17:00", _("afternoons (12–17)")),
    ("17:00-21:00", _("evenings (17–21)")),
    ("09:00-20:00", _("any time in the day (9–20)")),
]
FREQUENCIES = [(1, _("once a week at most")), (2, _("twice a week at most")), (4, _("more often is fine"))]


def _choices(question: Question, language: str):
    if question.binding == Question.Binding.TOPICS:
        topics = Topic.objects.filter(kind=Topic.Kind.MARKETING, is_active=True)
        with translation.override(language):
            return [(t.code, t.display_name) for t in topics]
    if question.binding == Question.Binding.WEEKDAYS:
        return WEEKDAYS
    if question.binding == Question.Binding.FREQUENCY:
        return FREQUENCIES
    return [(c["value"], (c.get("labels") or {}).get(language) or c["label"]) for c in question.choices or []]


def field_for(question: Question, language: str, customer) -> forms.Field:
    label = question.text_in(language)
    required = question.required
    Kind = Question.Kind
    if question.kind == Kind.SINGLE:
        coerce = int if question.binding == Question.Binding.FREQUENCY else str
        return forms.TypedChoiceField(
            label=label,
            required=required,
            choices=_choices(question, language),
            coerce=coerce,
            widget=forms.RadioSelect,
        )
    if question.kind == Kind.MULTIPLE:
        return forms.MultipleChoiceField(
            label=label, required=required, choices=_choices(question, language), widget=forms.CheckboxSelectMultiple
        )
    if question.kind == Kind.TEXT:
        return forms.CharField(
            label=label, required=required, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
        )
    if question.kind == Kind.SCALE:
        return forms.TypedChoiceField(
            label=label,
            required=required,
            coerce=int,
            widget=forms.RadioSelect,
            choices=[(n, str(n)) for n in range(11)],
        )
    if question.kind == Kind.DISTRICT:
        country = customer.country if customer is not None else ""
        districts = District.objects.filter(country=country) if country else District.objects.all()
        if question.binding == Question.Binding.HOME_DISTRICT:
            return forms.ModelChoiceField(label=label, required=required, queryset=districts)
        return forms.ModelMultipleChoiceField(
            label=label, required=required, queryset=districts, widget=forms.CheckboxSelectMultiple
        )
    if question.kind == Kind.TIME_WINDOW:
        return forms.ChoiceField(label=label, required=required, choices=WINDOWS, widget=forms.RadioSelect)
    if question.kind == Kind.CHANNEL:
        return forms.ChoiceField(
            label=label,
            required=required,
            widget=forms.RadioSelect,
            choices=[(c, Channel(c).label) for c in (Channel.EMAIL, Channel.SMS, Channel.MESSENGER)],
        )
    if question.kind == Kind.CONSENT:
        return forms.TypedChoiceField(
            label=label,
            required=True,
            widget=forms.RadioSelect,
            coerce=lambda v: v == "yes",
            choices=[("yes", _("Yes")), ("no", _("No"))],
        )
    raise ValueError(question.kind)


def to_json(value):
    """Answers are stored as JSON: districts by id, everything else as given."""
    if hasattr(value, "pk"):
        return value.pk
    if hasattr(value, "model"):  # a queryset of districts
        return [item.pk for item in value]
    return value


class SurveyForm(forms.Form):
    def __init__(self, *args, questions, language, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = {f"q{q.pk}": q for q in questions}
        for name, question in self.questions.items():
            self.fields[name] = field_for(question, language, customer)
        self.language = language

    def answers(self, *, only_valid: bool = False) -> dict:
        """Question → JSON value, for the fields that validated (all of them when the form is valid)."""
        data = self.cleaned_data if hasattr(self, "cleaned_data") else {}
        return {
            self.questions[name]: to_json(value)
            for name, value in data.items()
            if name in self.questions and (not only_valid or name not in self.errors) and value not in (None, "", [])
        }


LANGUAGES = {code for code, _name in settings.LANGUAGES}


class RespondentForm(forms.Form):
    """Who answers an open-link survey; nothing they agree to counts before they confirm."""

    first_name = forms.CharField(label=_("First name"), max_length=100, required=False)
    email = forms.CharField(label=_("E-mail"), max_length=254, required=False)
    phone = forms.CharField(label=_("Phone"), max_length=40, required=False)

    def clean_email(self):
        from crm.normalization import normalize_email

        return normalize_email(self.cleaned_data["email"])

    def clean_phone(self):
        from crm.normalization import normalize_phone

        return normalize_phone(self.cleaned_data["phone"])

    def clean(self):
        data = super().clean()
        if not data.get("email") and not data.get("phone") and not self.errors:
            raise forms.ValidationError(_("Give an e-mail address or a phone number, so we can confirm it is you."))
        return data
