from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Customer


class Survey(models.Model):
    class Kind(models.TextChoices):
        PREFERENCE = "preference", _("preferences (opt-in)")
        FEEDBACK = "feedback", _("feedback after a purchase")
        VOTE = "vote", _("vote")

    slug = models.SlugField(_("code"), max_length=60, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    title = models.CharField(_("title (English)"), max_length=200)
    intro = models.TextField(_("introduction (English)"), blank=True)
    translations = models.JSONField(
        _("translations"),
        default=dict,
        blank=True,
        help_text=_('{"et": {"title": "…", "intro": "…"}, "ru": {…}}'),
    )
    starts_at = models.DateTimeField(_("open from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("open until"), null=True, blank=True)
    allow_updates = models.BooleanField(_("answers may be changed later"), default=False)
    open_link = models.BooleanField(
        _("open link for new customers"),
        default=False,
        help_text=_("Anyone may answer at /s/open/<code>/; answers count after they confirm their e-mail or phone"),
    )
    # Feedback surveys: invite this long after a purchase, at most once per customer per so many days.
    invite_after_hours = models.PositiveIntegerField(_("invite after (hours)"), default=20)
    invite_every_days = models.PositiveIntegerField(_("at most once per (days)"), default=90)
    follow_up_below = models.PositiveSmallIntegerField(
        _("call back when a 0–10 answer is at most"), default=6, help_text=_("Creates a callback task for staff")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["-created_at"]
        permissions = [
            ("view_results", _("Can see a survey's results")),
            ("export_results", _("Can export a survey's answers (CSV)")),
            ("invite_segment", _("Can invite a segment to a survey")),
        ]

    def __str__(self):
        return self.title

    def text_in(self, field: str, language: str) -> str:
        return ((self.translations or {}).get(language) or {}).get(field) or getattr(self, field)


class Question(models.Model):
    class Kind(models.TextChoices):
        SINGLE = "single", _("single choice")
        MULTIPLE = "multiple", _("multiple choice")
        TEXT = "text", _("free text")
        SCALE = "scale", _("0–10 scale")
        DISTRICT = "district", _("district picker")
        TIME_WINDOW = "time_window", _("time-window picker")
        CHANNEL = "channel", _("channel picker")
        CONSENT = "consent", _("yes/no consent (the text is the exact wording)")

    class Binding(models.TextChoices):
        NONE = "", _("— plain data —")
        TOPICS = "topics", _("topics of interest")
        PREFERRED_CHANNEL = "preferred_channel", _("preferred channel")
        TIME_WINDOW = "time_window", _("time window")
        WEEKDAYS = "weekdays", _("preferred weekdays")
        FREQUENCY = "frequency", _("messages per week")
        HOME_DISTRICT = "home_district", _("home district")
        DISTRICTS = "districts", _("districts of work / frequent visits")
        CONSENT_EMAIL = "consent_email", _("consent: e-mail")
        CONSENT_SMS = "consent_sms", _("consent: SMS")
        CONSENT_MESSENGER = "consent_messenger", _("consent: messenger")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    text = models.CharField(_("question (English)"), max_length=500)
    translations = models.JSONField(_("translations"), default=dict, blank=True, help_text=_('{"et": "…", "ru": "…"}'))
    choices = models.JSONField(
        _("choices"),
        default=list,
        blank=True,
        help_text=_('For single/multiple choice: [{"value": "a", "label": "…", "labels": {"et": "…"}}]'),
    )
    required = models.BooleanField(_("required"), default=False)
    binding = models.CharField(_("writes to"), max_length=32, choices=Binding.choices, blank=True)

    class Meta:
        verbose_name = _("question")
        verbose_name_plural = _("questions")
        ordering = ["position", "id"]

    def __str__(self):
        return self.text

    def text_in(self, language: str) -> str:
        return (self.translations or {}).get(language) or self.text


class Response(models.Model):
    """One customer's answers to one survey; kept while partial, completed when submitted whole."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="responses")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="survey_responses")
    language = models.CharField(max_length=8, blank=True)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)
    # Answers given through the open link wait for the contact point's confirmation before they act.
    awaiting_confirmation = models.BooleanField(_("awaiting confirmation"), default=False)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        ordering = ["-updated_at"]
        constraints = [models.UniqueConstraint(fields=["survey", "customer"], name="surveys_one_response_each")]

    def __str__(self):
        return f"{self.survey} · {self.customer}"


class Answer(models.Model):
    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    value = models.JSONField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["response", "question"], name="surveys_one_answer_each")]

    def __str__(self):
        return f"{self.question_id}: {self.value}"


class Invitation(models.Model):
    """A survey invitation sent (through the notification engine) to one customer."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="invitations")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["survey", "customer", "-created_at"], name="surveys_invitation_idx")]

    def __str__(self):
        return f"{self.survey} → {self.customer}"
