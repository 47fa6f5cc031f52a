from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from config.table_cache import TableCache
from crm.models import Customer, District, Language, Store
from notifications.defaults import name_in_active_language


class TimeRangeIndex(BrinIndex):
    """A BRIN index on PostgreSQL (a few pages for a column that grows with the table: a time
    range is found at any size, writes barely pay for it); elsewhere (SQLite for ``make run``) a
    plain index."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            plain = models.Index(fields=self.fields, name=self.name)
            return plain.create_sql(model, schema_editor, using, **kwargs)
        return super().create_sql(model, schema_editor, using, **kwargs)


class Channel(models.TextChoices):
    EMAIL = "email", _("e-mail")
    SMS = "sms", _("SMS")
    MESSENGER = "messenger", _("messenger")
    POSTAL = "postal", _("postal letter")


class Topic(models.Model):
    """What a message is about, and how urgently, on which channels, and whether it is marketing."""

    class Kind(models.TextChoices):
        TRANSACTIONAL = "transactional", _("transactional (service)")
        MARKETING = "marketing", _("marketing")

    class Urgency(models.TextChoices):
        IMMEDIATE = "immediate", _("immediate: now, but never in quiet hours")
        TIMELY = "timely", _("timely: within today's window")
        FLEXIBLE = "flexible", _("flexible: may wait for the preferred weekday")

    code = models.SlugField(_("code"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    urgency = models.CharField(_("urgency"), max_length=16, choices=Urgency.choices, default=Urgency.TIMELY)
    channels = models.JSONField(
        _("channel plan"), default=list, help_text=_('Channels every message goes out on, e.g. ["sms", "email"]')
    )
    alternatives = models.JSONField(
        _("alternative channels"),
        default=list,
        blank=True,
        help_text=_("Channels the customer may prefer instead, or that replace a channel the customer cannot get"),
    )
    counts_against_cap = models.BooleanField(
        _("counts against frequency caps"),
        default=True,
        help_text=_("Untick only for service messages the customer cannot do without (bonus, orders, opening hours)"),
    )
    deadline_hours = models.PositiveIntegerField(
        _("deadline (hours)"), default=72, help_text=_("After this a message not yet sent is suppressed")
    )
    freshness_check = models.CharField(
        _("freshness check"),
        max_length=50,
        blank=True,
        help_text=_("Re-checked at send time, e.g. expiry_points, bonus_balance"),
    )
    coalesce = models.BooleanField(
        _("combine messages due together"),
        default=False,
        help_text=_(
            "Events for one customer due in the same slot on the same channel become one message "
            "(e.g. purchases at night: one SMS in the morning)"
        ),
    )
    learn_send_time = models.BooleanField(
        _("learn send time and frequency"),
        default=True,
        help_text=_(
            "Flexible messages of this topic go out at the hour each customer usually reads, and less "
            "often to customers who keep ignoring them"
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("topic")
        verbose_name_plural = _("topics")
        ordering = ["kind", "name"]
        permissions = [("announce_store", _("Can announce a store's opening-hours change or opening"))]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind="marketing") | Q(counts_against_cap=True),
                name="notif_topic_marketing_capped",
                violation_error_message=_("Marketing topics always count against the weekly limits."),
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        """The name customers read: a built-in topic's in the active language, staff's own as written."""
        return name_in_active_language(self.code, self.name) or self.name

    @property
    def is_marketing(self) -> bool:
        return self.kind == self.Kind.MARKETING


class ConsentEvent(models.Model):
    """Append-only: who agreed to (or withdrew) what, when, how, and what they were shown.

    ``scope`` says what one event covers, so a single action is a single row that also covers
    topics staff create later (see ``notifications.consent.book.ConsentBook`` for the precedence).
    """

    class Action(models.TextChoices):
        GRANTED = "granted", _("granted")
        WITHDRAWN = "withdrawn", _("withdrawn")

    class Scope(models.TextChoices):
        TOPIC = "topic", _("this topic on this channel")
        MARKETING = "marketing", _("all news and offers on this channel, including new topics")
        CHANNEL = "channel", _("every message on this channel, service messages included")
        EVERYTHING = "everything", _("all news and offers on every channel, including new topics")

    class Source(models.TextChoices):
        SURVEY = "survey", _("survey")
        PREFERENCE_PAGE = "preference_page", _("preference page")
        UNSUBSCRIBE = "unsubscribe", _("unsubscribe page")
        WHY_PAGE = "why_page", _("“why am I getting this?” page")
        ONE_CLICK = "one_click", _("one-click unsubscribe")
        STAFF = "staff", _("staff")
        IMPORT = "import", _("import")
        KEYWORD = "keyword", _("keyword reply")
        PROVIDER = "provider", _("provider webhook")

    # PROTECT: the proof outlives any attempt to delete its customer (customers are erased, not deleted).
    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.PROTECT, related_name="consent_events"
    )
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    topic = models.ForeignKey(
        Topic,
        verbose_name=_("topic"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("Empty: all topics the scope covers"),
    )
    scope = models.CharField(_("scope"), max_length=16, choices=Scope.choices)
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    source = models.CharField(_("source"), max_length=32, choices=Source.choices)
    wording = models.TextField(_("wording shown"), blank=True)
    wording_version = models.CharField(_("wording version"), max_length=32, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.CharField(_("user agent"), max_length=400, blank=True)
    staff = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("consent event")
        verbose_name_plural = _("consent events")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "channel", "-created_at"], name="notif_consent_lookup_idx"),
            # The admin's filters, each value of each found directly (crm.admin_scale.IndexPrefixFilterMixin):
            # consent comes mostly from surveys and the preference page, rarely by a keyword or from staff.
            models.Index(fields=["action", "scope", "channel", "source"], name="notif_consent_admin_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(scope="topic", topic__isnull=False)
                | Q(scope__in=["marketing", "channel", "everything"], topic__isnull=True),
                name="notif_consent_scope_topic",
            ),
        ]

    def __str__(self):
        if self.scope == self.Scope.TOPIC:
            return f"{self.get_action_display()} {self.channel} / {self.topic}"
        if self.scope == self.Scope.EVERYTHING:
            # The channel of an "everything" event is where the customer acted, kept as evidence.
            return f"{self.get_action_display()}: {self.get_scope_display()} ({self.channel})"
        return f"{self.get_action_display()} {self.channel} / {self.get_scope_display()}"


class Preference(models.Model):
    """How a customer wants to be talked to. Blank fields fall back to the global defaults."""

    class Badge(models.TextChoices):
        FULL = "full", _("full: e-mail and SMS marketing")
        EMAIL_ONLY = "email_only", _("e-mail marketing only")
        SMS_ONLY = "sms_only", _("SMS marketing only")
        SERVICE_ONLY = "service_only", _("service messages only")
        NONE = "none", _("nothing")

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="preference")
    preferred_channels = models.JSONField(
        _("preferred channel per topic"), default=dict, blank=True, help_text=_('e.g. {"bonus-credited": "sms"}')
    )
    window_start = models.TimeField(_("from (local time)"), null=True, blank=True)
    window_end = models.TimeField(_("until (local time)"), null=True, blank=True)
    weekdays = models.JSONField(
        _("preferred weekdays"), default=list, blank=True, help_text=_("0 = Monday … 6 = Sunday")
    )
    max_per_week = models.JSONField(
        _("marketing messages per week, per channel"),
        default=dict,
        blank=True,
        help_text=_('e.g. {"email": 2, "sms": 1}'),
    )
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, blank=True)
    paused_until = models.DateField(_("paused until"), null=True, blank=True)
    best_hour = models.PositiveSmallIntegerField(
        _("learned best hour"), null=True, blank=True, help_text=_("Local hour when this customer reads messages")
    )
    best_weekday = models.PositiveSmallIntegerField(
        _("learned best weekday"),
        null=True,
        blank=True,
        help_text=_("0 = Monday … 6 = Sunday: set only when this customer clearly reads more on that day"),
    )
    learned_from = models.PositiveIntegerField(
        _("opens and clicks learned from"), default=0, help_text=_("The customer's own reads behind the best hour")
    )
    ignored_topics = models.JSONField(
        _("topics ignored lately"),
        default=dict,
        blank=True,
        help_text=_('Messages in a row not opened, per topic, e.g. {"promotion": 4}: such topics are sent less often'),
    )
    learn_send_time = models.BooleanField(
        _("learn when and how often to write"),
        default=True,
        help_text=_("Untick to send at the first allowed time and as often as the topic goes out"),
    )
    badge = models.CharField(
        _("badge"), max_length=16, choices=Badge.choices, default=Badge.SERVICE_ONLY, db_index=True
    )
    districts = models.ManyToManyField(
        District, verbose_name=_("districts for local news"), blank=True, related_name="+"
    )
    messenger = models.CharField(
        _("messenger"), max_length=16, choices=[("telegram", "Telegram"), ("whatsapp", "WhatsApp")], blank=True
    )
    telegram_chat_id = models.CharField(_("Telegram chat"), max_length=32, blank=True)
    # One-time code of the customer's Telegram deep link (t.me/<bot>?start=<code>) until it is used.
    messenger_link_code = models.CharField(max_length=40, blank=True, db_index=True)
    messenger_link_created_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("preference")
        verbose_name_plural = _("preferences")

    def __str__(self):
        return str(self.customer)


class Notification(models.Model):
    """The outbox: one message to one customer on one channel, and what became of it."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("scheduled")
        SENDING = "sending", _("sending")
        PRINTING = "printing", _("in a letter batch, not yet posted")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        DEFERRED = "deferred", _("deferred")
        SUPPRESSED = "suppressed", _("suppressed")
        CANCELLED = "cancelled", _("cancelled")
        HELD = "held", _("held: its campaign is paused")

    class Reason(models.TextChoices):
        NONE = "", _("—")
        NO_CONSENT = "no_consent", _("no consent for this channel and topic")
        NO_CONTACT = "no_contact", _("no contact point for this channel")
        CHANNEL_UNAVAILABLE = "channel_unavailable", _("channel not available")
        INACTIVE = "inactive", _("customer inactive")
        PAUSED = "paused", _("customer paused messages")
        CAPPED = "capped", _("weekly limit reached")
        SPACING = "spacing", _("too soon after the previous message (any channel)")
        QUIET_HOURS = "quiet_hours", _("outside the allowed hours")
        DEADLINE = "deadline", _("no allowed slot before the deadline")
        STALE = "stale", _("no longer true at send time")
        INCOMPLETE = "incomplete", _("message lacks sender, contact details or unsubscribe")
        NO_TEMPLATE = "no_template", _("no template for this topic and channel")
        PROVIDER_ERROR = "provider_error", _("the provider refused or failed")
        SUPPRESSED_CONTACT = "suppressed_contact", _("contact point bounced or complained")
        COALESCED = "coalesced", _("combined into another message due at the same time")
        BY_STAFF = "by_staff", _("cancelled by staff")
        THINNED = "thinned", _("sent less often: the customer has not opened this topic lately")

    # Indexed through notif_cap_idx (customer first), not on its own: every index slows the outbox's writes.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="notifications",
        db_index=False,
    )
    # Not indexed: no hot query looks rows up by topic alone (notif_admin_idx serves the admin's filters).
    topic = models.ForeignKey(Topic, verbose_name=_("topic"), on_delete=models.PROTECT, db_index=False)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    context = models.JSONField(_("context"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    reason = models.CharField(_("reason"), max_length=32, choices=Reason.choices, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    send_at = models.DateTimeField(_("send at"))
    deadline = models.DateTimeField(_("deadline"))
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    dedupe_key = models.CharField(_("dedupe key"), max_length=200)  # unique: see notif_dedupe_key_once
    provider_message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("body as sent"), blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    letter_batch = models.ForeignKey(
        "LetterBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="letters", db_index=False
    )
    sms_segments = models.PositiveSmallIntegerField(_("SMS segments"), null=True, blank=True)
    sms_encoding = models.CharField(_("SMS encoding"), max_length=8, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    opened_at = models.DateTimeField(_("first opened"), null=True, blank=True)
    clicked_at = models.DateTimeField(_("first clicked"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_why", _("Can see why a customer got (or did not get) each message")),
            ("view_sent_email", _("Can read the e-mails the file backend wrote")),
        ]
        constraints = [
            # One index serves both uses of the key: its uniqueness (nothing planned twice) and the
            # look-up by prefix (LIKE 'prefix:%', a campaign's rows, whatever the database's
            # collation). Every index costs each insert and each status change its own write.
            models.UniqueConstraint(
                fields=["dedupe_key"], name="notif_dedupe_key_once", opclasses=["varchar_pattern_ops"]
            ),
        ]
        indexes = [
            models.Index(fields=["send_at"], condition=Q(status__in=["scheduled", "deferred"]), name="notif_due_idx"),
            models.Index(fields=["lease_until"], condition=Q(status="sending"), name="notif_lease_idx"),
            models.Index(fields=["customer", "channel", "sent_at"], name="notif_cap_idx"),
            # A customer's messages still waiting, by topic: what a sale looks for to coalesce into, a
            # consent change or a re-plan to change. Only waiting rows are in it, so it stays small,
            # and the planner takes it whatever its statistics say (with the two above, it combined the
            # customer's rows with every waiting row of the topic: thousands of index entries per sale).
            models.Index(fields=["customer", "topic"], condition=Q(status="scheduled"), name="notif_waiting_idx"),
            models.Index(fields=["status", "topic", "channel"], name="notif_admin_idx"),
            # Only letters have a batch: a partial index stays as small as the letters are few.
            models.Index(fields=["letter_batch"], condition=Q(letter_batch__isnull=False), name="notif_letter_idx"),
            # The admin's filter by reason: only rows with one are in it (suppressed, failed, deferred: a
            # tenth of the outbox; a row queued to be sent has none), and a rare reason is found without
            # reading ten million rows.
            models.Index(fields=["reason"], condition=~Q(reason=""), name="notif_reason_idx"),
            # The dashboard's weeks (notifications.dashboard): rows are written in created_at order, so
            # a BRIN index of a few pages finds a time range at any size and costs writes next to nothing.
            TimeRangeIndex(fields=["created_at"], name="notif_created_brin", autosummarize=True),
        ]

    def __str__(self):
        return f"{self.topic.code} → {self.channel} ({self.get_status_display()})"

    @property
    def occasion(self) -> str:
        """The occasion's key: the dedupe key without the ":<channel>" ``notify`` adds per row."""
        return occasion_of(self.dedupe_key)


def occasion_of(dedupe_key: str) -> str:
    return dedupe_key.rsplit(":", 1)[0]


def occasion_keys(occasion: str) -> list[str]:
    """Every dedupe key an occasion's rows can have: one per channel. A row keeps its key when a
    fallback or a re-plan moves it to another channel, so an occasion is "present" when any of
    these exists, whatever channel its rows are on now."""
    return [f"{occasion}:{channel}" for channel in Channel.values]


class SendTimePrior(models.Model):
    """How often a segment's customers read (open or click) in each local hour of the week.

    Computed by one periodic job from the outbox (``scheduling.learning.send_times_learn``); a
    customer with few reads of their own starts from their segment's (language's) hours.
    ``counts`` holds 168 numbers: Monday 00:00-01:00 local first, Sunday 23:00-24:00 last.
    """

    segment = models.CharField(_("segment"), max_length=32, unique=True, help_text=_('"" = every customer'))
    counts = models.JSONField(_("reads per hour of the week"), default=list)
    reads = models.PositiveIntegerField(_("reads"), default=0)
    customers = models.PositiveIntegerField(_("customers"), default=0)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("send-time prior")
        verbose_name_plural = _("send-time priors")
        ordering = ["segment"]
        default_permissions = ()  # computed by the learning job; staff neither edit nor see it in the admin

    def __str__(self):
        return self.segment or "*"


class MessageTemplate(models.Model):
    """Message text per topic × channel × language, in Django template syntax."""

    topic = models.ForeignKey(Topic, verbose_name=_("topic"), on_delete=models.CASCADE, related_name="templates")
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    subject = models.CharField(
        _("subject"), max_length=200, blank=True, help_text=_("E-mail only; the brand is prefixed")
    )
    body = models.TextField(_("body"), help_text=_("Django template: {{ customer.first_name }}, {{ points }}, …"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        ordering = ["topic", "channel", "language"]
        constraints = [
            models.UniqueConstraint(fields=["topic", "channel", "language"], name="notif_template_unique"),
        ]

    def __str__(self):
        return f"{self.topic.code} / {self.channel} / {self.language}"


# What providers report for most messages; every other kind of event is a problem to look at.
ROUTINE_EVENTS = ["queued", "sent", "deferred", "delivered", "opened", "clicked"]


class DeliveryEvent(models.Model):
    """What a provider told us about a message: delivered, bounced, opened, … (recorded once)."""

    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="delivery_events"
    )
    provider = models.CharField(_("provider"), max_length=32)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    event_type = models.CharField(_("event"), max_length=32)
    # The provider's event id, or a digest of the event when it has none: replays are recorded once.
    event_key = models.CharField(max_length=128, unique=True)
    message_id = models.CharField(_("provider message id"), max_length=255, blank=True)
    recipient = models.CharField(_("recipient"), max_length=254, blank=True)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    occurred_at = models.DateTimeField(_("occurred"))
    payload = models.JSONField(default=dict)
    processed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("delivery event")
        verbose_name_plural = _("delivery events")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["message_id"], name="notif_event_message_idx"),
            models.Index(fields=["created_at"], condition=Q(processed_at__isnull=True), name="notif_event_todo_idx"),
            # The admin's filter by kind: the kinds that need attention (bounces, complaints, failures)
            # are a few per cent of the events; the routine ones are found along the primary key.
            models.Index(
                fields=["event_type"], condition=~Q(event_type__in=ROUTINE_EVENTS), name="notif_event_kind_idx"
            ),
        ]

    def __str__(self):
        return f"{self.provider} {self.event_type}"


class ContactSuppression(models.Model):
    """A contact point that must not be written to again (hard bounce, complaint)."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254)
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=64)
    event = models.ForeignKey(DeliveryEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("suppressed contact point")
        verbose_name_plural = _("suppressed contact points")
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["channel", "address"], name="notif_suppression_once")]

    def __str__(self):
        return f"{self.channel}:{self.address} ({self.reason})"


class InboundMessage(models.Model):
    """A message a customer sent us (an SMS reply): keywords act on consent, the rest goes to staff."""

    class Action(models.TextChoices):
        STOP = "stop", _("stop")
        START = "start", _("start again")
        HELP = "help", _("help")
        OTHER = "other", _("message for staff")

    provider = models.CharField(_("provider"), max_length=32)
    provider_message_id = models.CharField(_("provider message id"), max_length=64, unique=True)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices, default=Channel.SMS)
    sender = models.CharField(pgettext_lazy("sender of a message", "from"), max_length=64)
    body = models.TextField(_("text"))
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(_("action"), max_length=16, choices=Action.choices)
    topic = models.ForeignKey(Topic, null=True, blank=True, on_delete=models.SET_NULL)
    reply = models.TextField(_("reply"), blank=True)
    reply_sent_at = models.DateTimeField(_("reply sent"), null=True, blank=True)
    # Held while a worker sends the reply (outside any transaction); a dead worker's lease runs out.
    reply_lease_until = models.DateTimeField(null=True, blank=True)
    # The provider's message as received (stored before anything acts on it).
    payload = models.JSONField(default=dict, blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("inbound message")
        verbose_name_plural = _("inbound messages")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["created_at"], condition=Q(processed_at__isnull=True), name="notif_inbound_todo_idx"),
        ]

    def __str__(self):
        return f"{self.sender}: {self.body[:40]}"


class SenderIdentity(models.Model):
    """Who a message says it is from, per store or per country (issue 17): the sender name, the
    contacts for more information and the postal address letters can be stopped at. A customer's
    home store wins over their country; neither found, the BRAND_* settings speak."""

    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. EE"))
    store = models.OneToOneField(
        Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sender_name = models.CharField(_("sender name"), max_length=100, help_text=_("The brand, as in e-mail subjects"))
    sms_sender_id = models.CharField(
        _("SMS sender ID"), max_length=11, help_text=_("Alphanumeric, at most 11 characters")
    )
    from_email = models.EmailField(_("e-mail from"))
    contact_email = models.EmailField(_("contact e-mail"))
    support_phone = models.CharField(_("support phone"), max_length=32)
    postal_optout_address = models.TextField(
        _("postal address to stop letters"), help_text=_("Printed on every letter with the preferences page")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("sender identity")
        verbose_name_plural = _("sender identities")
        ordering = ["country", "store"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(country="") | Q(store__isnull=False),
                name="notif_sender_country_or_store",
                violation_error_message=_("Give a country, a store, or both."),
            ),
            models.UniqueConstraint(
                fields=["country"], condition=Q(store__isnull=True), name="notif_sender_one_per_country"
            ),
        ]

    def __str__(self):
        return f"{self.sender_name} ({self.store or self.country})"


class OfferState(models.Model):
    """What an offer is now, as the shop knows it: a queued message quoting an older price, an
    item sold out or an offer that ended is stale at send time (``delivery.freshness.offer``).

    A message names its offer with ``context["offer"]["key"]`` (and the price it quotes).
    """

    key = models.SlugField(_("offer"), max_length=100, unique=True)
    price = models.DecimalField(_("price now"), max_digits=12, decimal_places=2, null=True, blank=True)
    in_stock = models.BooleanField(_("in stock"), default=True)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("offer state")
        verbose_name_plural = _("offer states")
        ordering = ["key"]

    def __str__(self):
        return self.key


class LetterBatch(models.Model):
    """The postal letters of one day: printed by staff as one PDF, posted, then marked sent."""

    day = models.DateField(_("day"), unique=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("letter batch")
        verbose_name_plural = _("letter batches")
        ordering = ["-day"]
        permissions = [("print_letterbatch", _("Can print a letter batch (names and postal addresses)"))]

    def __str__(self):
        return _("Letters of %(day)s") % {"day": self.day}


class UnsubscribeReason(models.Model):
    """A reason customers can pick when they unsubscribe; staff edit the list and its translations."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label (English)"), max_length=200)
    translations = models.JSONField(
        _("translations"), default=dict, blank=True, help_text=_('e.g. {"et": "…", "fi": "…", "ru": "…", "sv": "…"}')
    )
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("unsubscribe reason")
        verbose_name_plural = _("unsubscribe reasons")
        ordering = ["position", "id"]

    def __str__(self):
        return self.label

    def label_in(self, language: str) -> str:
        return (self.translations or {}).get(language) or self.label


class UnsubscribeFeedback(models.Model):
    """One unsubscribe conversation: what the customer chose instead of (or by) leaving, and why."""

    class Choice(models.TextChoices):
        TOPIC = "topic", _("this topic on this channel")
        CHANNEL = "channel", _("everything on this channel")
        EVERYTHING = "everything", _("all marketing, on every channel")
        FEWER = "fewer", _("fewer messages")
        SWITCH = "switch", _("another channel")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    notification = models.ForeignKey(Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    topic = models.ForeignKey(Topic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.SET_NULL)
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    campaign = models.CharField(_("campaign"), max_length=100, blank=True)
    choice = models.CharField(_("choice"), max_length=16, choices=Choice.choices)
    switch_to = models.CharField(_("switched to"), max_length=16, choices=Channel.choices, blank=True)
    reason = models.ForeignKey(
        UnsubscribeReason, verbose_name=_("reason"), null=True, blank=True, on_delete=models.SET_NULL
    )
    free_text = models.TextField(_("in their words"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("unsubscribe feedback")
        verbose_name_plural = _("unsubscribe feedback")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.get_choice_display()} ({self.channel})"


def _topics_by_code() -> dict[str, Topic]:
    return {topic.code: topic for topic in Topic.objects.all()}


# Every message names its topic: the few topics are read once per process (config/table_cache.py).
_TOPICS = TableCache("notifications.topics", _topics_by_code, models=(Topic,))


def topic_by_code(code: str) -> Topic:
    """The topic with this code (shared within the process: read it, do not change it)."""
    try:
        return _TOPICS.get()[code]
    except KeyError:
        raise Topic.DoesNotExist(code) from None


def topic_by_id(topic_id: int) -> Topic | None:
    return next((topic for topic in _TOPICS.get().values() if topic.pk == topic_id), None)


class HolidayGreeting(models.Model):
    """A public holiday the shop greets its customers on, early on the day in their own time.

    The holiday is named as the ``holidays`` library names it in English for the country; the
    date follows the library each year (Easter, Midsummer, ...). With a gift, each customer's tier
    says how many points (``Tier.holiday_gift_points``); a tier with 0 gets the greeting alone.
    """

    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. EE"))
    holiday = models.CharField(
        _("holiday"), max_length=100, help_text=_("As the holiday calendar names it in English, e.g. Christmas Eve")
    )
    with_gift = models.BooleanField(
        _("with a gift"), default=False, help_text=_("Credit each customer the holiday gift of their tier")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("holiday greeting")
        verbose_name_plural = _("holiday greetings")
        ordering = ["country", "holiday"]
        constraints = [models.UniqueConstraint(fields=["country", "holiday"], name="notif_holiday_greeting_unique")]

    def __str__(self):
        return f"{self.holiday} ({self.country})"
