"""Where the CRM keeps data about a customer: one entry per model, and what erasure does to it.

The export reads every entry and erasure applies them, so the two cannot drift apart. A test walks
every installed model and fails for one with a path to Customer (a foreign key to it, or to a model
that has one) that is neither here nor in ``NOT_EXPORTED`` with a reason: a new model that holds
customer data cannot be forgotten.

Outside any table of a model here, erasure also rewrites the admin's change history of these rows
(``django.contrib.admin.LogEntry`` keeps each object's name as it was).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Field, Model, Q, QuerySet
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from campaigns.models import CampaignMember
from crm.models import Callback, Customer, Interaction
from loyalty.models import BonusAccount, BonusLot, BonusTransaction, Dispute, ExpiryWarning, LotMovement
from notifications.models import (
    ConsentEvent,
    ContactSuppression,
    DeliveryEvent,
    InboundMessage,
    Notification,
    Preference,
    UnsubscribeFeedback,
)
from privacy.models import DataRequest
from surveys.models import Answer, Invitation, Question, Response

# What erased free text reads afterwards, where a field may not be empty or an empty one would mislead.
ERASED = "[erased]"
# Erasure keeps an IP address's network (IPv4 /24, IPv6 /48), not the address: see privacy.erasure.
NETWORK_ONLY = object()

INTERNAL = _("internal bookkeeping, not information about the customer")


@dataclass(frozen=True, eq=False)
class Holding:
    """One model's rows about a customer: how to find them, what the export leaves out, what erasure does.

    ``path`` leads from the model to its Customer (``"pk"`` for Customer itself); ``also`` finds
    rows by the customer's contact points too (a provider's event no message could be matched to).
    Erasure sets each field of ``erase`` on the rows ``erase_where`` selects, replaces mentions of
    the customer in the kept free text of ``scrub``, empties the many-to-many fields of ``clear``,
    and deletes the rows altogether when ``delete`` is set.
    """

    model: type[Model]
    path: str
    leave_out: Mapping[str, str] = field(default_factory=dict)
    also: Callable[[frozenset[str]], Q] | None = None
    erase: Mapping[str, object] = field(default_factory=dict)
    erase_where: Q = field(default_factory=Q)
    scrub: tuple[str, ...] = ()
    clear: tuple[str, ...] = ()
    delete: bool = False

    @property
    def label(self) -> str:
        return self.model._meta.label_lower

    @property
    def title(self) -> str:
        return capfirst(self.model._meta.verbose_name_plural)

    def rows(self, customer: Customer, contacts: frozenset[str]) -> QuerySet:
        """This model's rows about ``customer``; ``contacts`` are the customer's contact points
        (``contact_points``), taken before erasure blanks them."""
        found = Q(**{self.path: customer.pk if self.path == "pk" else customer})
        if self.also is not None and contacts:
            found |= self.also(contacts)
        return self.model._base_manager.filter(found)

    def left_out(self) -> dict[str, str]:
        """The fields the export leaves out, each with why: the declared ones, the link to the
        customer (every row is theirs) and staff members (other people's data)."""
        reasons = dict(self.leave_out)
        for f in self.model._meta.concrete_fields:
            if f.is_relation and f.related_model is Customer and self.model is not Customer:
                reasons[f.name] = _("the customer: every row here is theirs")
            elif f.is_relation and f.related_model._meta.label == settings.AUTH_USER_MODEL:
                reasons[f.name] = _("a staff member: another person's data")
        return reasons

    def exported_fields(self) -> list[Field]:
        left_out = self.left_out()
        fields = [*self.model._meta.concrete_fields, *self.model._meta.many_to_many]
        return [f for f in fields if f.name not in left_out]


def _by_recipient(contacts: frozenset[str]) -> Q:
    return Q(recipient__in=sorted(contacts))


def _by_address(contacts: frozenset[str]) -> Q:
    return Q(address__in=sorted(contacts))


def _by_sender(contacts: frozenset[str]) -> Q:
    return Q(sender__in=sorted(contacts))


HOLDINGS: tuple[Holding, ...] = (
    # The customer row itself is anonymised by crm.services.customer_anonymise.
    Holding(
        Customer,
        "pk",
        leave_out={
            "id": _("the internal number never leaves the CRM; the public id names the customer"),
            "token_version": _("how links sent earlier are revoked, not information about the customer"),
        },
        # Staff's labels ("vip", "press") say something about the person: an erased customer has none.
        clear=("tags",),
    ),
    Holding(Interaction, "customer", erase={"summary": ERASED}),
    # An erased customer cannot be called back: open callbacks are closed.
    Holding(Callback, "customer", erase={"notes": "", "status": Callback.Status.DONE}, scrub=("subject",)),
    # The ledger keeps every amount and point: only staff's words may name the customer.
    Holding(BonusAccount, "customer"),
    Holding(BonusTransaction, "account__customer", leave_out={"idempotency_key": INTERNAL}, scrub=("reason",)),
    Holding(BonusLot, "account__customer"),
    Holding(LotMovement, "transaction__account__customer"),
    Holding(ExpiryWarning, "lot__account__customer"),
    Holding(Dispute, "customer", erase={"customer_comment": ""}, scrub=("staff_note",)),
    # The consent proof keeps what was agreed or withdrawn, when, how and in which words; the
    # device that did it is personal data the proof does not need once its customer is anonymous.
    Holding(
        ConsentEvent,
        "customer",
        erase={"ip_address": NETWORK_ONLY, "user_agent": ""},
        scrub=("reason",),
    ),
    Holding(
        Preference,
        "customer",
        leave_out={"messenger_link_code": _("a one-time secret that connects a Telegram chat to this customer")},
        erase={"messenger": "", "telegram_chat_id": "", "messenger_link_code": "", "messenger_link_created_at": None},
        clear=("districts",),
    ),
    Holding(
        Notification,
        "customer",
        leave_out={"dedupe_key": INTERNAL, "lease_until": INTERNAL},
        erase={"subject": "", "body": "", "context": {}},
        scrub=("detail",),
    ),
    Holding(
        DeliveryEvent,
        "notification__customer",
        leave_out={"event_key": INTERNAL},
        also=_by_recipient,
        erase={"recipient": "", "detail": "", "payload": {}},
    ),
    # A suppression holds nothing but the address: it goes with the address (a new bounce suppresses again).
    Holding(ContactSuppression, "customer", also=_by_address, delete=True),
    Holding(
        InboundMessage,
        "customer",
        leave_out={"reply_lease_until": INTERNAL},
        also=_by_sender,
        erase={"sender": "", "body": "", "payload": {}},
        scrub=("reply",),
    ),
    Holding(UnsubscribeFeedback, "customer", erase={"free_text": ""}),
    Holding(Response, "customer"),
    # Choices, scales and districts stay in the survey's results; the customer's own words go.
    Holding(Answer, "response__customer", erase={"value": ""}, erase_where=Q(question__kind=Question.Kind.TEXT)),
    Holding(Invitation, "customer"),
    Holding(DataRequest, "customer", scrub=("reason",)),
    # Which campaigns the customer was chosen for, and whether as one of the holdout: kept for the
    # campaigns' reports (an erased customer is anonymous; the row names no one).
    Holding(CampaignMember, "customer"),
)

# Models with a path to Customer whose rows the export leaves out on purpose, each with why.
NOT_EXPORTED: dict[type[Model], str] = {}


def contact_points(customer: Customer) -> frozenset[str]:
    """The addresses other rows may know the customer by: e-mail, phone (E.164 and the digits
    WhatsApp sends), the Telegram chat."""
    phone = str(customer.phone or "")
    chat = Preference.objects.filter(customer=customer).values_list("telegram_chat_id", flat=True).first() or ""
    return frozenset(value for value in (customer.email, phone, phone.lstrip("+"), chat) if value)
