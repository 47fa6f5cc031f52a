"""The POS API, `/api/v1/`: purchases, refunds, balances and reminders, authenticated per store.

POST requests carry an ``Idempotency-Key`` header and follow Stripe's rules: the same key with the
same body returns the first response and writes nothing; the same key with another body is a 422;
concurrent duplicates wait for the first and then replay it.
"""

import datetime
import hashlib
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Min, Sum
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Header, NinjaAPI, Schema, Status
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer
from pydantic import AwareDatetime, ConfigDict, Field, WithJsonSchema, model_validator

from config.sql import insert_unless_present
from config.table_cache import TableCache
from crm.links.ratelimit import client_ip
from crm.models import Customer, Store
from crm.normalization import normalize_email, normalize_phone
from crm.selectors import customer_find
from crm.services import customer_create
from loyalty import lockout, services, signals
from loyalty.models import BonusAccount, BonusLot, IdempotencyRecord, PosApiKey, hash_api_key
from loyalty.program import UnknownCurrency


def _key_by_hash(key_hash: str) -> PosApiKey | None:
    return (
        PosApiKey.objects.select_related("store__district")
        .filter(key_hash=key_hash, is_active=True, store__is_active=True)
        .first()
    )


# Keys are checked on every sale: kept per process (a revoked key stops within TABLE_CACHE_SECONDS everywhere).
_KEYS = TableCache("loyalty.pos_keys", _key_by_hash, models=(PosApiKey, Store))


class PosKeyAuth(HttpBearer):
    """A store's POS key; an address that fails too often is locked out for a while (``PosLockout``)."""

    def __call__(self, request: HttpRequest):
        if lockout.is_locked(client_ip(request)):
            raise ApiError(
                429, "locked_out", _("Too many failed attempts from this address: try again later."), "Authorization"
            )
        key = super().__call__(request)
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        if key is None and token:  # a key that does not fit; a missing header is no guess
            lockout.failure(client_ip(request), key_prefix=token[:12])
        return key

    def authenticate(self, request: HttpRequest, token: str) -> PosApiKey | None:
        key = _KEYS.get(hash_api_key(token))
        if key is None:
            return None
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > datetime.timedelta(minutes=1):
            key.last_used_at = now  # this process's copy: the next minute's sales write nothing
            PosApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key


api = NinjaAPI(
    title="Loyalty POS API",
    version="1",
    description=__doc__,
    urls_namespace="api-v1",
    auth=PosKeyAuth(),
)

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=255)]


# --- Schemas ---------------------------------------------------------------------------------------


class CustomerRef(Schema):
    """Who bought: at least one of ``external_id``, ``phone`` or ``email``; the first that matches wins."""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["external_id"], "properties": {"external_id": {"type": "string", "minLength": 1}}},
                {"required": ["phone"], "properties": {"phone": {"type": "string", "minLength": 1}}},
                {"required": ["email"], "properties": {"email": {"type": "string", "minLength": 1}}},
            ]
        }
    )

    external_id: str | None = Field(None, max_length=64, description="Loyalty card number")
    phone: str | None = Field(
        None, max_length=40, description="Any common format; local numbers in the store's country"
    )
    email: str | None = Field(None, max_length=254)

    @model_validator(mode="after")
    def one_identifier(self):
        if not (self.external_id or self.phone or self.email):
            raise ValueError("give external_id, phone or email")
        return self


class NewCustomer(Schema):
    first_name: str = Field("", max_length=100)
    last_name: str = Field("", max_length=100)
    language: str | None = Field(None, pattern="^(en|et|fi|ru|sv)$")


AMOUNT_DESCRIPTION = (
    "What the customer paid in money, in `currency`, with at most 2 decimals: greater than 0, "
    "or exactly 0 when the whole sale is paid with points (`redeem_points` > 0)."
)
# Pydantic renders a Decimal as "number or any string"; the API's real contract is stated here.
Amount = Annotated[
    Decimal,
    Field(ge=0, max_digits=12, decimal_places=2),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": 9_999_999_999.99, "multipleOf": 0.01},
                {"type": "string", "pattern": r"^\d{1,10}(\.\d{1,2})?$"},
            ],
            "description": AMOUNT_DESCRIPTION,
            "examples": ["25.90"],
        }
    ),
]
OCCURRED_AT_DESCRIPTION = (
    "When the sale happened, with a UTC offset; default: now. At most 5 minutes ahead of the server's "
    "clock and at most LOYALTY_BACKDATE_DAYS (default 30) days back: older sales are entered by staff."
)


class PurchaseIn(Schema):
    customer: CustomerRef
    create_customer: bool = Field(False, description="Create the customer if unknown (needs phone or email)")
    new_customer: NewCustomer | None = None
    receipt_id: str = Field(..., min_length=1, max_length=64)
    amount: Amount = Field(..., description=AMOUNT_DESCRIPTION)
    currency: str = Field(..., pattern="^[A-Z]{3}$", description="ISO 4217 code accepted by the programme")
    redeem_points: int = Field(0, ge=0, le=10_000_000, description="Points spent on this sale")
    occurred_at: AwareDatetime | None = Field(None, description=OCCURRED_AT_DESCRIPTION)
    cashier_id: str = Field("", max_length=64)


class PurchaseOut(Schema):
    customer_id: UUID
    external_id: str
    customer_created: bool
    points_earned: int
    points_redeemed: int
    balance: int
    tier: str | None
    transaction_ids: list[int]


class RefundIn(Schema):
    receipt_id: str = Field(..., min_length=1, max_length=64)
    reason: str = Field("", max_length=500)


class RefundOut(Schema):
    customer_id: UUID
    points_taken_back: int
    points_returned: int
    balance: int
    transaction_id: int
    already_reversed: bool


class Expiry(Schema):
    expires_at: datetime.datetime
    points: int


class BalanceOut(Schema):
    customer_id: UUID
    external_id: str
    balance: int
    debt: int = Field(0, description="Points owed: a refund took back points that were already spent")
    tier: str | None
    next_expiry: Expiry | None


class ReminderIn(Schema):
    """An order ready for pickup, or an appointment to remind the customer of the day before."""

    kind: Literal["order_ready", "appointment"]
    customer: CustomerRef
    reference: str = Field(..., min_length=1, max_length=64, description="The order or booking number")
    at: AwareDatetime | None = Field(None, description="The appointment's time (required for an appointment)")
    note: str = Field("", max_length=200, description="Shown in the message, e.g. what to bring")

    @property
    def create_customer(self) -> bool:  # a reminder never creates a customer
        return False

    @property
    def new_customer(self):
        return None


class ReminderOut(Schema):
    customer_id: UUID
    kind: str
    reference: str
    notify_from: datetime.datetime


class FieldError(Schema):
    field: str
    message: str


class ErrorOut(Schema):
    error: str
    message: str
    field: str | None = None
    errors: list[FieldError] = []


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str, field: str | None = None):
        self.status, self.error, self.message, self.field = status, error, message, field


# --- Error handling: every 4xx is JSON that names the field ---------------------------------------


@api.exception_handler(NinjaValidationError)
def validation_error(request, exc: NinjaValidationError):
    errors = []
    for error in exc.errors:
        loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "header", "query", "path")]
        errors.append({"field": ".".join(loc) or "body", "message": error.get("msg", "invalid")})
    first = errors[0] if errors else {"field": "body", "message": _("invalid request")}
    body = {"error": "invalid", "message": f"{first['field']}: {first['message']}", "field": first["field"]}
    return api.create_response(request, {**body, "errors": errors}, status=422)


@api.exception_handler(AuthenticationError)
def authentication_error(request, exc: AuthenticationError):
    response = api_error(
        request,
        ApiError(
            401, "unauthorized", _("A valid POS API key is required: Authorization: Bearer <key>."), "Authorization"
        ),
    )
    response["WWW-Authenticate"] = "Bearer"
    return response


@api.exception_handler(HttpError)
def http_error(request, exc: HttpError):
    """ninja's own errors (e.g. a body that is not JSON) in the one documented shape."""
    return api_error(request, ApiError(exc.status_code, "invalid" if exc.status_code < 500 else "error", str(exc)))


@api.exception_handler(ApiError)
def api_error(request, exc: ApiError):
    return api.create_response(
        request, {"error": exc.error, "message": exc.message, "field": exc.field, "errors": []}, status=exc.status
    )


_LOYALTY_STATUS = {
    services.InsufficientPoints: 409,
    services.DuplicateEvent: 409,
    services.ReceiptNotFound: 404,
}


@api.exception_handler(services.LoyaltyError)
def loyalty_error(request, exc: services.LoyaltyError):
    status = _LOYALTY_STATUS.get(type(exc), 422)
    return api_error(request, ApiError(status, exc.code, exc.message, exc.field))


# --- Idempotency ------------------------------------------------------------------------------------


def _idempotent(request, *, key: str, endpoint: str, payload: dict, run: Callable[[], tuple[int, dict]]):
    """Run ``run`` once per (API key, Idempotency-Key); replay its stored response afterwards.

    The record is inserted first, in the same transaction as the work: a concurrent request with
    the same key blocks on the unique index until this one commits, then replays its response.
    If the work fails, the record rolls back with it and a retry runs again.
    """
    request_hash = hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
    with transaction.atomic():
        record = IdempotencyRecord(
            api_key=request.auth, key=key, endpoint=endpoint, request_hash=request_hash, status_code=0, response={}
        )
        if not insert_unless_present(record):
            record = IdempotencyRecord.objects.get(api_key=request.auth, key=key)
            if record.endpoint != endpoint or record.request_hash != request_hash:
                raise ApiError(
                    422,
                    "idempotency_key_reused",
                    _("This Idempotency-Key was used with a different request."),
                    "Idempotency-Key",
                )
            return Status(record.status_code, record.response)
        status, body = run()
        if connection.vendor == "postgresql":  # a fixed text: every POST sends it, the ORM would compile it each time
            with connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE loyalty_idempotencyrecord SET status_code = %s, response = %s::jsonb WHERE id = %s",
                    [status, json.dumps(body, cls=DjangoJSONEncoder), record.pk],
                )
        else:
            IdempotencyRecord.objects.filter(pk=record.pk).update(status_code=status, response=body)
    return Status(status, body)


# --- Endpoints --------------------------------------------------------------------------------------


def _resolve_customer(payload: PurchaseIn, key: PosApiKey) -> tuple[Customer, bool]:
    ref = payload.customer
    region = key.store.district.country or None
    try:
        email = normalize_email(ref.email or "")
    except DjangoValidationError:
        raise ApiError(422, "invalid", _("customer.email: not an e-mail address"), "customer.email") from None
    try:
        phone = normalize_phone(ref.phone or "", region)
    except DjangoValidationError:
        raise ApiError(422, "invalid", _("customer.phone: not a valid phone number"), "customer.phone") from None
    customer = customer_find(external_id=ref.external_id or "", email=email, phone=phone)
    if customer is not None:
        if not customer.is_active:
            raise ApiError(409, "customer_inactive", _("This customer's account is closed."), "customer")
        return customer, False
    if not payload.create_customer:
        raise ApiError(404, "customer_not_found", _("No customer matches these identifiers."), "customer")
    if not (email or phone):
        raise ApiError(422, "invalid", _("customer: a new customer needs a phone or an e-mail"), "customer")
    extra = payload.new_customer or NewCustomer()
    try:
        with transaction.atomic():
            customer = customer_create(
                external_id=(ref.external_id or "").strip(),
                email=email,
                phone=phone,
                first_name=extra.first_name,
                last_name=extra.last_name,
                language=extra.language or "en",
                time_zone=key.store.time_zone,
                home_store=key.store,
                home_district=key.store.district,
                country=region or "",
            )
    except DjangoValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise ApiError(422, "invalid", f"customer.{field}: {messages[0]}", f"customer.{field}") from None
    return customer, True


def _purchase_account(payload: PurchaseIn, key: PosApiKey) -> tuple[BonusAccount | None, Customer, bool]:
    """(the buyer's account, locked, or None when it is yet to be made; the buyer; whether just created).

    A till sends one identifier, usually the card: then the lookup and the account's row lock are
    one statement. Several identifiers, an unknown customer or a first purchase take the general way.
    """
    ref = payload.customer
    given = [value for value in (ref.external_id, ref.phone, ref.email) if value]
    if len(given) == 1 and (ref.external_id or "").strip():
        account = services.account_lock_by(external_id=ref.external_id.strip())
        if account is not None:
            if not account.customer.is_active:
                raise ApiError(409, "customer_inactive", _("This customer's account is closed."), "customer")
            return account, account.customer, False
    customer, created = _resolve_customer(payload, key)
    return None, customer, created


def _check_occurred_at(occurred_at: datetime.datetime | None) -> None:
    """A till's clock may drift a little; a sale from 1970 or next year is a broken till, not a sale."""
    if occurred_at is None:
        return
    now = timezone.now()
    if occurred_at > now + datetime.timedelta(minutes=5):
        raise ApiError(422, "invalid", _("occurred_at: in the future"), "occurred_at")
    if occurred_at < now - datetime.timedelta(days=settings.LOYALTY_BACKDATE_DAYS):
        raise ApiError(
            422,
            "invalid",
            _("occurred_at: more than %(days)s days ago; older sales are entered by staff")
            % {"days": settings.LOYALTY_BACKDATE_DAYS},
            "occurred_at",
        )


@api.post(
    "/purchases/",
    response={201: PurchaseOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Record a purchase: accrue points, optionally redeem",
)
def post_purchase(request, payload: PurchaseIn, idempotency_key: IdempotencyKey):
    def run():
        account, customer, created = _purchase_account(payload, request.auth)
        try:
            result = services.purchase_record(
                customer=customer,
                account=account,
                savepoint=False,  # this request's transaction rolls back whole on any error
                store=request.auth.store,
                receipt_id=payload.receipt_id,
                amount=payload.amount,
                currency=payload.currency,
                occurred_at=payload.occurred_at or timezone.now(),
                redeem_points=payload.redeem_points,
                cashier_id=payload.cashier_id,
            )
        except UnknownCurrency:
            raise ApiError(422, "invalid", _("currency: not accepted by this programme"), "currency") from None
        body = PurchaseOut(
            customer_id=customer.public_id,
            external_id=customer.external_id,
            customer_created=created,
            points_earned=result.points_earned,
            points_redeemed=result.points_redeemed,
            balance=result.balance,
            tier=result.tier.name if result.tier else None,
            transaction_ids=list(result.transaction_ids),
        ).model_dump(mode="json")
        return 201, body

    if payload.amount == 0 and payload.redeem_points == 0:
        raise ApiError(422, "invalid", _("amount: must be greater than 0 unless points are redeemed"), "amount")
    _check_occurred_at(payload.occurred_at)
    return _idempotent(
        request, key=idempotency_key, endpoint="purchases", payload=payload.model_dump(mode="json"), run=run
    )


@api.post(
    "/refunds/",
    response={200: RefundOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Reverse a whole receipt",
)
def post_refund(request, payload: RefundIn, idempotency_key: IdempotencyKey):
    def run():
        result = services.purchase_reverse(
            store=request.auth.store, receipt_id=payload.receipt_id, reason=payload.reason
        )
        body = RefundOut(
            customer_id=result.customer.public_id,
            points_taken_back=result.points_taken_back,
            points_returned=result.points_returned,
            balance=result.balance,
            transaction_id=result.transaction_id,
            already_reversed=result.already_reversed,
        ).model_dump(mode="json")
        return 200, body

    return _idempotent(
        request, key=idempotency_key, endpoint="refunds", payload=payload.model_dump(mode="json"), run=run
    )


APPOINTMENT_NOTICE = datetime.timedelta(hours=24)  # an appointment is reminded of this long before


@api.post(
    "/reminders/",
    response={202: ReminderOut, 400: ErrorOut, 401: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="Remind a customer: an order ready for pickup, or an appointment (the day before)",
)
def post_reminder(request, payload: ReminderIn, idempotency_key: IdempotencyKey):
    now = timezone.now()
    if payload.kind == "appointment":
        if payload.at is None:
            raise ApiError(422, "invalid", _("at: an appointment needs its time"), "at")
        if payload.at <= now:
            raise ApiError(422, "invalid", _("at: the appointment is in the past"), "at")
    notify_from = max(now, payload.at - APPOINTMENT_NOTICE) if payload.kind == "appointment" else now

    def run():
        customer, _created = _resolve_customer(payload, request.auth)
        reminder = signals.ServiceReminder(
            kind=payload.kind,
            customer=customer,
            store_id=request.auth.store_id,
            store_name=request.auth.store.name,
            reference=payload.reference,
            at=payload.at,
            notify_from=notify_from,
            note=payload.note,
        )
        # Inside this request's transaction: the receivers' outbox rows commit or roll back with it.
        signals.service_reminder.send(sender=signals.ServiceReminder, reminder=reminder)
        body = ReminderOut(
            customer_id=customer.public_id, kind=payload.kind, reference=payload.reference, notify_from=notify_from
        ).model_dump(mode="json")
        return 202, body

    return _idempotent(
        request, key=idempotency_key, endpoint="reminders", payload=payload.model_dump(mode="json"), run=run
    )


@api.get(
    "/customers/{external_id}/balance/",
    response={200: BalanceOut, 401: ErrorOut, 404: ErrorOut},
    summary="A customer's balance and next expiry",
)
def get_balance(request, external_id: str):
    customer = Customer.objects.filter(external_id=external_id).select_related("bonus_account__tier").first()
    if customer is None:
        raise ApiError(404, "customer_not_found", _("No customer with this external id."), "external_id")
    account = getattr(customer, "bonus_account", None)
    now = timezone.now()
    balance, next_expiry = 0, None
    if account is not None:
        open_lots = BonusLot.objects.filter(account=account, remaining__gt=0, expires_at__gt=now)
        balance = open_lots.aggregate(total=Sum("remaining"))["total"] or 0
        first = open_lots.aggregate(at=Min("expires_at"))["at"]
        if first:
            points = open_lots.filter(expires_at=first).aggregate(total=Sum("remaining"))["total"]
            next_expiry = {"expires_at": first, "points": points}
    return Status(
        200,
        {
            "customer_id": customer.public_id,
            "external_id": customer.external_id,
            "balance": balance,
            "debt": account.debt if account else 0,
            "tier": account.tier.name if account and account.tier else None,
            "next_expiry": next_expiry,
        },
    )
