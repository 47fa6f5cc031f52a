import datetime

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from crm.models import District
from notifications.models import Channel, UnsubscribeFeedback, UnsubscribeReason

HOURS = [(datetime.time(h), f"{h:02d}:00") for h in range(0, 24)] + [(datetime.time(23, 59), "24:00")]
WEEKDAYS = [(0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
            (5, _("Saturday")), (6, _("Sunday"))]  # fmt: skip
PER_WEEK = [(n, str(n)) for n in (1, 2, 3, 5, 7)]


def consent_wordings(brand: str) -> dict[str, str]:
    """The exact sentences shown next to each consent box; they are stored as evidence."""
    return {
        "marketing_email": _("Yes, %(brand)s may e-mail me news and offers.") % {"brand": brand},
        "marketing_sms": _("Yes, %(brand)s may send me news and offers by SMS.") % {"brand": brand},
        "marketing_messenger": _("Yes, %(brand)s may send me news and offers in my messenger.") % {"brand": brand},
        "marketing_postal": _("Yes, %(brand)s may send me greetings and letters by post.") % {"brand": brand},
        "topics": _("I want to hear about these topics."),
    }


class TimeChoiceField(forms.TypedChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=[(t.isoformat(), label) for t, label in HOURS], coerce=datetime.time.fromisoformat, **kwargs
        )


class PreferenceForm(forms.Form):
    def __init__(self, *args, customer, preference, channels, topics, wordings, **kwargs):
        super().__init__(*args, **kwargs)
        for channel in channels:
            self.fields[f"marketing_{channel}"] = forms.BooleanField(
                required=False, label=wordings[f"marketing_{channel}"]
            )
        self.fields["topics"] = forms.MultipleChoiceField(
            label=wordings["topics"],
            required=False,
            widget=forms.CheckboxSelectMultiple,
            choices=sorted(((topic.code, topic.display_name) for topic in topics), key=lambda choice: choice[1]),
        )
        self.fields["bonus_channel"] = forms.ChoiceField(
            label=_("Bonus messages (credited, used, expiring) by"),
            required=False,
            choices=[("", _("as the shop decides"))] + [(c, Channel(c).label) for c in channels],
        )
        self.fields["window_start"] = TimeChoiceField(label=_("Not before (your local time)"))
        self.fields["window_end"] = TimeChoiceField(label=_("Not after (your local time)"))
        self.fields["weekdays"] = forms.TypedMultipleChoiceField(
            label=_("Days for news that can wait (none: any day)"),
            required=False,
            coerce=int,
            widget=forms.CheckboxSelectMultiple,
            choices=WEEKDAYS,
        )
        self.fields["max_email"] = forms.TypedChoiceField(
            label=_("News e-mails per week, at most"), choices=PER_WEEK, coerce=int
        )
        self.fields["max_sms"] = forms.TypedChoiceField(
            label=_("News SMS per week, at most"), choices=PER_WEEK, coerce=int
        )
        self.fields["language"] = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
        self.fields["paused_until"] = forms.DateField(
            label=_("Pause news until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        self.fields["districts"] = forms.ModelMultipleChoiceField(
            label=_("Districts for local news (where you live, work or shop)"),
            required=False,
            widget=forms.CheckboxSelectMultiple,
            queryset=District.objects.filter(country=customer.country) if customer.country else District.objects.all(),
        )

    def clean(self):
        data = super().clean()
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and start >= end:
            self.add_error("window_end", _("The latest time must be after the earliest time."))
        paused = data.get("paused_until")
        if paused and paused < datetime.date.today():
            self.add_error("paused_until", _("Choose a date from today on."))
        return data


def why_choices(*, topic, channel: str) -> dict[str, str]:
    """The one-click buttons of the "why" page, by UnsubscribeFeedback choice: fewer, or none."""
    Choice = UnsubscribeFeedback.Choice
    label = Channel(channel).label
    return {
        Choice.FEWER: _("Fewer: at most one a week by %(channel)s") % {"channel": label},
        Choice.TOPIC: _("None of “%(topic)s” by %(channel)s") % {"topic": topic.name, "channel": label},
        Choice.CHANNEL: _("No news or offers by %(channel)s at all") % {"channel": label},
    }


class UnsubscribeForm(forms.Form):
    choice = forms.ChoiceField(label=_("What would you like?"), widget=forms.RadioSelect)
    switch_to = forms.ChoiceField(label=_("Which channel instead?"), required=False)
    reason = forms.ModelChoiceField(
        label=_("Would you tell us why? (optional)"),
        required=False,
        widget=forms.RadioSelect,
        queryset=UnsubscribeReason.objects.filter(is_active=True),
    )
    free_text = forms.CharField(
        label=_("In your own words (optional)"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, topic, channel, other_channels, language, **kwargs):
        super().__init__(*args, **kwargs)
        Choice = UnsubscribeFeedback.Choice
        channel_label = Channel(channel).label
        choices = [
            (
                Choice.TOPIC,
                _("Stop “%(topic)s” by %(channel)s") % {"topic": topic.display_name, "channel": channel_label},
            ),
            (Choice.CHANNEL, _("Stop all news and offers by %(channel)s") % {"channel": channel_label}),
            (Choice.EVERYTHING, _("Stop all news and offers, on every channel")),
            (Choice.FEWER, _("Keep them, but at most one a week by %(channel)s") % {"channel": channel_label}),
        ]
        if other_channels:
            choices.append(
                (Choice.SWITCH, _("Get “%(topic)s” on another channel instead") % {"topic": topic.display_name})
            )
        self.fields["choice"].choices = choices
        self.fields["choice"].initial = Choice.TOPIC
        self.fields["switch_to"].choices = [("", "—")] + [(c, Channel(c).label) for c in other_channels]
        self.fields["reason"].label_from_instance = lambda reason: reason.label_in(language)

    def clean(self):
        data = super().clean()
        if data.get("choice") == UnsubscribeFeedback.Choice.SWITCH and not data.get("switch_to"):
            self.add_error("switch_to", _("Choose the channel you prefer."))
        return data
