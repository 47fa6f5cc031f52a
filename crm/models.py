import uuid
import zoneinfo

from django.conf import settings
from django.contrib.postgres.indexes import OpClass
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from phonenumber_field.modelfields import PhoneNumberField

from crm.normalization import normalize_email, validate_time_zone


class PrefixSearchIndex(models.Index):
    """An expression index that also serves ``LIKE 'prefix%'`` on it (``istartswith`` compares UPPER()s).

    On PostgreSQL each expression gets text_pattern_ops, which a prefix match needs under any
    collation but "C"; elsewhere (SQLite for ``make run``) it is a plain expression index.
    """

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            return super().create_sql(model, schema_editor, using, **kwargs)
        pattern = models.Index(*(OpClass(e, name="text_pattern_ops") for e in self.expressions), name=self.name)
        return pattern.create_sql(model, schema_editor, using, **kwargs)


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    ESTONIAN = "et", _("Estonian")
    FINNISH = "fi", _("Finnish")
    RUSSIAN = "ru", _("Russian")
    SWEDISH = "sv", _("Swedish")


class District(models.Model):
    """A part of a city: where customers live, work and shop, for geotargeted news."""

    name = models.CharField(_("name"), max_length=100)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, help_text=_("ISO 3166 code, e.g. EE"))
    parent = models.ForeignKey(
        "self", verbose_name=_("part of"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # A store's opening is news in its district and the ones around it (both ways: symmetrical).
    neighbours = models.ManyToManyField("self", verbose_name=_("neighbouring districts"), blank=True)

    class Meta:
        verbose_name = _("district")
        verbose_name_plural = _("districts")
        ordering = ["country", "city", "name"]
        constraints = [
            models.UniqueConstraint(fields=["country", "city", "name"], name="crm_district_unique_name"),
        ]

    def __str__(self):
        return f"{self.name}, {self.city}"


class Store(models.Model):
    code = models.SlugField(_("code"), max_length=32, unique=True, help_text=_("Used by the POS, e.g. TLN-01"))
    name = models.CharField(_("name"), max_length=150)
    district = models.ForeignKey(District, verbose_name=_("district"), on_delete=models.PROTECT, related_name="stores")
    address = models.CharField(_("address"), max_length=255)
    phone = PhoneNumberField(_("phone"), blank=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default=settings.DEFAULT_CUSTOMER_TIME_ZONE, validators=[validate_time_zone]
    )
    opening_hours = models.TextField(_("opening hours"), blank=True, help_text=_("e.g. Mon–Fri 9–21, Sat–Sun 10–18"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["code"]

    def __str__(self):
        return f"{self.name} ({self.code})"


class Tag(models.Model):
    """A label staff put on customers (e.g. "vip", "press"), for segments."""

    name = models.CharField(_("name"), max_length=50, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Customer(models.Model):
    class Gender(models.TextChoices):
        UNSPECIFIED = "", _("not specified")
        FEMALE = "female", _("female")
        MALE = "male", _("male")
        OTHER = "other", _("other")

    # The identifier that leaves the system (links, API); the integer pk never does.
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    external_id = models.CharField(
        _("loyalty card / external id"), max_length=64, blank=True, help_text=_("From the POS or loyalty card")
    )
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = PhoneNumberField(_("phone"), blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default=settings.DEFAULT_CUSTOMER_TIME_ZONE,
        validators=[validate_time_zone],
        help_text=_("IANA name, e.g. Europe/Helsinki"),
    )
    home_district = models.ForeignKey(
        District, verbose_name=_("home district"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    home_store = models.ForeignKey(
        Store, verbose_name=_("home store"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address_line = models.CharField(_("street address"), max_length=255, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    city = models.CharField(_("city"), max_length=100, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True, help_text=_("ISO 3166 code, e.g. EE"))
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default="")
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="customers")
    is_active = models.BooleanField(_("active"), default=True)
    # Every link sent to the customer carries this version (crm.links.tokens): raising it revokes them all.
    token_version = models.PositiveIntegerField(
        _("link version"), default=0, help_text=_("Raise it to make every link already sent to this customer invalid")
    )
    # Set when the customer's personal data was erased (privacy): the row stays for the ledger and
    # the consent proof, anonymous, inactive and with no contact points.
    erased_at = models.DateTimeField(_("personal data erased"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-created_at", "-id"]
        # Without it a staff member sees only their own store's customers (crm.access).
        permissions = [("view_all_customers", _("Can see the customers of every store"))]
        constraints = [
            # Pattern operators: the same uniqueness, and the index also serves staff searches by the
            # beginning of an e-mail or a number (crm.selectors.customer_search).
            models.UniqueConstraint(
                fields=["email"],
                condition=~Q(email=""),
                name="crm_customer_unique_email",
                opclasses=["varchar_pattern_ops"],
            ),
            models.UniqueConstraint(
                fields=["phone"],
                condition=~Q(phone=""),
                name="crm_customer_unique_phone",
                opclasses=["varchar_pattern_ops"],
            ),
            models.UniqueConstraint(
                fields=["external_id"], condition=~Q(external_id=""), name="crm_customer_unique_external_id"
            ),
            models.CheckConstraint(
                condition=~Q(email="") | ~Q(phone="") | Q(erased_at__isnull=False),
                name="crm_customer_has_contact",
                violation_error_message=_("A customer needs an e-mail address or a phone number."),
            ),
        ]
        indexes = [
            # Staff search names by their beginning in any case (UPPER(name) LIKE 'TAMM%').
            PrefixSearchIndex(Upper("last_name"), name="crm_customer_last_name_idx"),
            PrefixSearchIndex(Upper("first_name"), name="crm_customer_first_name_idx"),
            models.Index(fields=["created_at"], name="crm_customer_created_idx"),
            # Segments by age band (a range of birth dates).
            models.Index(fields=["birth_date"], name="crm_customer_birth_date_idx"),
        ]

    def __str__(self):
        if self.erased_at:
            return _("erased customer %(public_id)s") % {"public_id": self.public_id}
        return self.full_name or self.email or str(self.phone) or str(self.public_id)

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def clean(self):
        super().clean()
        self.email = normalize_email(self.email)
        if not self.email and not self.phone and not self.erased_at:
            raise ValidationError(_("A customer needs an e-mail address or a phone number."))


class Interaction(models.Model):
    """What happened with a customer: the history staff read before calling."""

    class Kind(models.TextChoices):
        CALL = "call", _("call")
        VISIT = "visit", _("store visit")
        NOTE = "note", _("note")
        MESSAGE = "message", _("message")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="interactions"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customer_interactions",
    )
    store = models.ForeignKey(Store, verbose_name=_("store"), null=True, blank=True, on_delete=models.SET_NULL)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    summary = models.TextField(_("summary"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [models.Index(fields=["customer", "-occurred_at"], name="crm_interaction_timeline_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.occurred_at:%Y-%m-%d %H:%M}"


class Callback(models.Model):
    """A call staff agreed to make (or must make) to a customer, with when and what about."""

    class Status(models.TextChoices):
        OPEN = "open", _("to do")
        DONE = "done", _("done")

    customer = models.ForeignKey(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="callbacks"
    )
    due_at = models.DateTimeField(_("call at"))
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assigned to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callbacks",
    )
    subject = models.CharField(_("about"), max_length=200)
    notes = models.TextField(_("what was discussed"), blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    reminded_at = models.DateTimeField(_("reminded"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("callback")
        verbose_name_plural = _("callbacks")
        ordering = ["status", "due_at"]
        # Status descending: the admin lists "open" before "done", by due time; the reminder job
        # looks up open callbacks by due time.
        indexes = [models.Index(fields=["-status", "due_at"], name="crm_callback_due_idx")]

    def __str__(self):
        return f"{self.customer} · {self.due_at:%Y-%m-%d %H:%M}"


class StaffProfile(models.Model):
    """A staff member's place in the shop: the store they work at.

    A staff member without ``crm.view_all_customers`` (a store manager) sees only the customers
    whose home store is this one (crm.access); without a store, none.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="staff_profile"
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("store"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="staff_profiles",
        help_text=_("A store manager sees the customers whose home store this is"),
    )
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text=_("IANA name, e.g. Europe/Helsinki: the admin shows times in it. Empty: the server's zone"),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self):
        return f"{self.user} · {self.store or '—'}"
