"""Segments: rules → a customer queryset, set-based (one SQL query, however large the segment).

Rules (all that are given must hold)::

    districts           lives there (home district) or chose it for local news; each value an id,
                        a name ("Kalamaja") or "name, city" ("Kalamaja, Tallinn"), any letter case
    languages           customer's language codes, e.g. ["et", "ru"]
    badges              consent badges, e.g. ["full", "email_only"]
    tiers               loyalty tier codes, e.g. ["gold"]
    gender              "female", "male" or "other"
    bought_within_days  at least one purchase in the last N days (exact, up to ``now``)
    min_purchases_12m   at least N purchases in the last 12 months (the account's rolling year)
    min_spend_12m       at least this much spent in the last 12 months (base currency, refunded
                        sales left out; the account's rolling year, the spend the tier follows)
    store               customers of a store: its code (or id), or {"code": "TLN-01", "mode": ...}
                        with mode "most_purchases" (default) or "last_purchase"; see _store_rule
    answers             [{"question": <id>, "value": ...}]: answered so in a completed survey response
    districts_home      lives there (home district only); values as for ``districts``
    districts_work      told us they work in or often visit it (the districts chosen for local news,
                        which the survey's "districts of work / frequent visits" question writes)
    districts_frequent  shops there most (the stores of those districts had at least as many of the
                        customer's purchases in the last 12 months as any other single store) or
                        chose it for local news
    age                 {"min": 18, "max": 34}: age in whole years as of ``now`` (UTC date), either bound
                        optional; customers with no birth date never match
    birth_months        birthday in one of these months, e.g. [12, 1]
    balance             {"min": 100, "max": 5000}: points on the bonus account (no account: 0)
    rfm                 {"recency": [4, 5], "frequency": [1, 5], "monetary": [3, 5]}: score bands 1–5, see RFM
    consent             ["email", "sms"]: marketing consent granted on every channel listed (email, sms,
                        messenger, postal), see _consent_rule
    tags                has at least one of these tags (names)
    any                 [{rules}, {rules}, ...]: at least one of the groups holds (each group: all its rules)
    all                 [{rules}, {rules}, ...]: every group holds (the top-level object is already "all")

Measured at 100k seeded customers (bench/bench_seed.py lists these rules; JIT off): each new rule
counts in 5-220 ms, except ``districts_frequent`` (~0.5 s: it counts each of the district's
shoppers' purchases per store, so it grows with them, several seconds at 1M). PostgreSQL's JIT
adds seconds of compilation to the costlier plans (3.7 s of 4 s for ``districts_frequent``):
production wants ``jit = off`` or a higher ``jit_above_cost``.

Groups nest: ``{"tiers": ["gold"], "any": [{"districts_home": [4]}, {"age": {"max": 30}}]}`` is gold
customers who live in district 4 or are at most 30. A group is evaluated as a semi-join
(``pk IN (subquery)``), so the segment stays one SQL query however deep.

RFM scores use fixed thresholds, the same for every shop and every day (so a score means the same
thing in a campaign's report as when it was chosen, and each band is a range on one indexed column
of the bonus account, never a window function over a million accounts):

    score   recency (days since last purchase)   frequency (purchases, 12 months)   monetary (spend, 12 months)
    5       ≤ 30                                 ≥ 12                               ≥ 1000
    4       31–90                                6–11                               500–999.99
    3       91–180                               3–5                                200–499.99
    2       181–365                              2                                  50–199.99
    1       > 365 or never                       0–1                                < 50

A purchase is an accrual in the ledger that has not been refunded.

"The last 12 months" is the rolling year each bonus account keeps (``purchases_12m``,
``spend_12m``): every sale and refund updates it under the account's row lock, and the nightly
recount (loyalty's ``rolling_year_recount``) drops the sales older than 365 days. So frequency and
spend are one comparison on the joined account row, not an aggregate of the ledger per request (at
a million customers the ledger aggregates took 1.4-5 s, the account figures take a few hundred ms);
in return they are the figures as of the latest sale or nightly recount, not as of ``now=``: a sale
that left the year counts until the next night (up to a day stale), and a refund of a sale that
had already left the year takes nothing off. A customer who never bought has no account: any count
or spend above zero excludes them, and "min_spend_12m": 0 selects everyone.

Recency stays exact as of ``now`` (the evaluation time: later purchases never count): the
account's ``last_purchase_at`` narrows the customers to those who bought lately without reading
the ledger, and the ledger is asked only about the few accounts with a refunded sale in the
window (``last_purchase_at`` counts refunded sales too) or a purchase after ``now``. The store rule reads the ledger as of
``now``. Every rule is its own condition on the customer row (the account is one row per
customer; the ledger only in correlated subqueries), never a join of the ledger into the outer
query, which would let one rule change another and count a purchase once per matching district.

Two levels of checking: ``segment_customers`` checks the shape of the rules (no queries, so a
segment stays one query); ``validate_rules`` also checks that every district, store, tier and
question named exists, and is what forms call before saving or using a segment.

Rules reach loyalty, notification and survey data through the related names those apps put on
Customer (and the app registry for survey answers), so crm imports none of them: the arrows keep
pointing into crm.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.apps import apps
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, F, Model, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer, District, Language, Store

DISTRICT_RULES = ("districts", "districts_home", "districts_work", "districts_frequent")
GROUPS = ("any", "all")
KNOWN = {
    *DISTRICT_RULES, "languages", "badges", "tiers", "gender", "bought_within_days", "min_purchases_12m",
    "min_spend_12m", "store", "answers", "age", "birth_months", "balance", "rfm", "consent", "tags", *GROUPS,
}  # fmt: skip
CONSENT_CHANNELS = ("email", "sms", "messenger", "postal")  # notifications' channels, spelled out (see LEDGER)
RFM_DIMENSIONS = ("recency", "frequency", "monetary")
# The lower bound of each score 2..5 (score 1 is everything below score 2's); recency in days, upward.
RFM_RECENCY_DAYS = {5: 30, 4: 90, 3: 180, 2: 365}
RFM_FREQUENCY = {5: 12, 4: 6, 3: 3, 2: 2}
RFM_MONETARY = {5: Decimal(1000), 4: Decimal(500), 3: Decimal(200), 2: Decimal(50)}

MOST_PURCHASES, LAST_PURCHASE = "most_purchases", "last_purchase"
STORE_MODES = (MOST_PURCHASES, LAST_PURCHASE)

# Ledger kinds, spelled out because crm does not import loyalty.
ACCRUAL, REVERSAL = "accrual", "reversal"
LEDGER = "bonus_account__transactions"
ACCOUNT = LEDGER.rsplit("__", 1)[0]  # the customer's side of the ledger: one account each
YEAR = datetime.timedelta(days=365)
REFUND_MARGIN = datetime.timedelta(days=1)  # how far ahead of its refund a sale may be dated, and more


def _related(path: str) -> tuple[type[Model], str]:
    """The model at the end of a related-name path from Customer, and the lookup from it back to the customer."""
    model, back = Customer, []
    for name in path.split("__"):
        relation = model._meta.get_field(name)
        model = relation.related_model
        back.insert(0, relation.field.name)
    return model, "__".join(back)


def _badge_choices() -> list[str]:
    preference = Customer._meta.get_field("preference").related_model
    return [value for value, _label in preference._meta.get_field("badge").choices]


# Shape: what each value must look like, checked without touching the database.


def _whole_number(value) -> int | None:
    """A whole number ≥ 1 given as a JSON number or a string of digits; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    else:
        return None
    return number if number >= 1 else None


def _amount(value) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _identifier(value) -> bool:
    """An id (JSON number or digits) or a non-empty name or code."""
    if isinstance(value, bool):
        return False
    return (isinstance(value, int) and value > 0) or (isinstance(value, str) and bool(value.strip()))


def _store_parts(value) -> tuple[object, object]:
    """(code or id, mode) of a store rule as written; a bare code means the default mode."""
    if isinstance(value, dict):
        return value.get("code"), value.get("mode", MOST_PURCHASES)
    return value, MOST_PURCHASES


def _shape_errors(rules) -> list[str]:
    if not isinstance(rules, dict):
        return [_('Rules must be an object, e.g. {"languages": ["et"]}.')]
    unknown = set(rules) - KNOWN
    if unknown:
        return [_("Unknown rules: %(rules)s") % {"rules": ", ".join(sorted(unknown))}]
    errors = []

    def one_of(rule: str, allowed: list[str]) -> None:
        values = rules.get(rule)
        if values in (None, []):
            return
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            errors.append(
                _("“%(rule)s” must be a list of texts, e.g. %(example)s.")
                % {"rule": rule, "example": f'["{allowed[0]}"]'}
            )
            return
        wrong = [v for v in values if v not in allowed]
        if wrong:
            errors.append(
                _("Unknown %(rule)s: %(values)s (choose from %(choices)s).")
                % {"rule": rule, "values": ", ".join(wrong), "choices": ", ".join(allowed)}
            )

    one_of("languages", list(Language.values))
    one_of("badges", _badge_choices())
    tiers = rules.get("tiers")
    if tiers not in (None, []) and (
        not isinstance(tiers, list) or not all(isinstance(t, str) and t.strip() for t in tiers)
    ):
        errors.append(_('“tiers” must be a list of tier codes, e.g. ["gold"].'))
    for rule in DISTRICT_RULES:
        districts = rules.get(rule)
        if districts not in (None, []) and (
            not isinstance(districts, list) or not all(_identifier(d) for d in districts)
        ):
            errors.append(
                _("“%(rule)s” must be a list of district ids or names, e.g. %(example)s.")
                % {"rule": rule, "example": '["Kalamaja", 12]'}
            )
    gender = rules.get("gender")
    genders = [value for value in Customer.Gender.values if value]
    if gender not in (None, "") and gender not in genders:
        errors.append(_("“gender” must be one of %(choices)s.") % {"choices": ", ".join(genders)})
    for rule in ("bought_within_days", "min_purchases_12m"):
        if rules.get(rule) is not None and _whole_number(rules[rule]) is None:
            errors.append(_("“%(rule)s” must be a whole number of at least 1.") % {"rule": rule})
    if rules.get("min_spend_12m") is not None and _amount(rules["min_spend_12m"]) is None:
        errors.append(_('“min_spend_12m” must be an amount of at least 0, e.g. "200".'))
    if rules.get("store") is not None:
        value = rules["store"]
        code, mode = _store_parts(value)
        if isinstance(value, dict) and set(value) - {"code", "mode"}:
            errors.append(_("A store rule takes only “code” and “mode”."))
        elif not _identifier(code):
            errors.append(
                _('“store” needs a store code, e.g. "TLN-01" or {"code": "TLN-01", "mode": "last_purchase"}.')
            )
        elif mode not in STORE_MODES:
            errors.append(
                _("Unknown store mode “%(mode)s” (choose from %(modes)s).")
                % {"mode": mode, "modes": ", ".join(STORE_MODES)}
            )
    answers = rules.get("answers")
    if answers is not None and (
        not isinstance(answers, list)
        or not all(
            isinstance(a, dict)
            and set(a) == {"question", "value"}
            and _whole_number(a["question"]) is not None
            and isinstance(a["value"], str | int | float | bool)
            for a in answers
        )
    ):
        errors.append(
            _('Each answer rule needs "question" (its id) and "value", e.g. [{"question": 12, "value": "women"}].')
        )
    errors += _new_rule_shape_errors(rules)
    for group in GROUPS:
        if rules.get(group) is None:
            continue
        if not isinstance(rules[group], list) or not all(isinstance(g, dict) and g for g in rules[group]):
            errors.append(
                _("“%(group)s” must be a list of groups of rules, e.g. %(example)s.")
                % {"group": group, "example": '[{"languages": ["et"]}, {"tiers": ["gold"]}]'}
            )
            continue
        for inner in rules[group]:
            errors += _shape_errors(inner)
    return errors


def _bounds_errors(rules: dict, rule: str, *, low: int, high: int | None, example: str) -> list[str]:
    """``rule`` must be {"min": n, "max": n} with whole numbers in [low, high], at least one given, min ≤ max."""
    value = rules.get(rule)
    if value is None:
        return []
    wrong = [_("“%(rule)s” must look like %(example)s.") % {"rule": rule, "example": example}]
    if not isinstance(value, dict) or not value or set(value) - {"min", "max"}:
        return wrong
    bounds = {}
    for end, number in value.items():
        if isinstance(number, bool) or not isinstance(number, int) or number < low or (high and number > high):
            return wrong
        bounds[end] = number
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        return [_("“%(rule)s”: the minimum is above the maximum.") % {"rule": rule}]
    return []


def _new_rule_shape_errors(rules: dict) -> list[str]:
    errors = _bounds_errors(rules, "age", low=0, high=150, example='{"min": 18, "max": 34}')
    errors += _bounds_errors(rules, "balance", low=0, high=None, example='{"min": 100, "max": 5000}')
    months = rules.get("birth_months")
    if months not in (None, []) and (
        not isinstance(months, list)
        or not all(isinstance(m, int) and not isinstance(m, bool) and 1 <= m <= 12 for m in months)
    ):
        errors.append(_("“birth_months” must be a list of month numbers 1–12, e.g. [12, 1]."))
    rfm = rules.get("rfm")
    if rfm is not None:
        if (
            not isinstance(rfm, dict)
            or not rfm
            or set(rfm) - set(RFM_DIMENSIONS)
            or not all(
                isinstance(band, list)
                and len(band) == 2
                and all(isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 5 for n in band)
                and band[0] <= band[1]
                for band in rfm.values()
            )
        ):
            errors.append(
                _(
                    "“rfm” must give score bands 1–5 (lowest first) for recency, frequency or monetary, e.g. %(example)s."
                )
                % {"example": '{"recency": [4, 5]}'}
            )
    consent = rules.get("consent")
    if consent not in (None, []) and (
        not isinstance(consent, list) or not all(isinstance(c, str) and c in CONSENT_CHANNELS for c in consent)
    ):
        errors.append(
            _("“consent” must be a list of channels among %(choices)s.") % {"choices": ", ".join(CONSENT_CHANNELS)}
        )
    tags = rules.get("tags")
    if tags not in (None, []) and (
        not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags)
    ):
        errors.append(_('“tags” must be a list of tag names, e.g. ["vip"].'))
    return errors


def _check_shape(rules) -> None:
    errors = _shape_errors(rules)
    if errors:
        raise ValidationError(errors)


# References: the districts, stores, tiers and questions named must exist.


def _district_condition(value) -> Q:
    """Which districts a written value means: an id, a name, or "name, city" (letter case ignored)."""
    if isinstance(value, int) or value.strip().isdigit():
        return Q(pk=int(value))
    name, _comma, city = (part.strip() for part in value.partition(","))
    return Q(name__iexact=name, city__iexact=city) if city else Q(name__iexact=name)


def _districts_meant(districts: list[District], value) -> list[District]:
    """The districts among ``districts`` that a written value means (the same test as _district_condition)."""
    if isinstance(value, int) or value.strip().isdigit():
        return [d for d in districts if d.pk == int(value)]
    name, _comma, city = (part.strip().casefold() for part in value.partition(","))
    return [d for d in districts if d.name.casefold() == name and (not city or d.city.casefold() == city)]


def _districts_matching(values: list) -> QuerySet[District]:
    condition = Q(pk__in=[])
    for value in values:
        condition |= _district_condition(value)
    return District.objects.filter(condition)


def _stores_matching(code) -> QuerySet[Store]:
    if isinstance(code, int) or code.strip().isdigit():
        return Store.objects.filter(Q(pk=int(code)) | Q(code__iexact=str(code).strip()))
    return Store.objects.filter(code__iexact=code.strip())


def _reference_errors(rules: dict) -> list[str]:
    errors = []
    districts = [value for rule in DISTRICT_RULES for value in rules.get(rule) or []]
    if districts:
        found = list(_districts_matching(districts))
        for value in dict.fromkeys(districts):
            matches = _districts_meant(found, value)
            if not matches:
                errors.append(
                    _("Unknown district “%(value)s”: write its id, its name or “name, city”.") % {"value": value}
                )
            elif len(matches) > 1:
                errors.append(
                    _("District “%(value)s” is ambiguous (%(choices)s): write “name, city” or the id.")
                    % {"value": value, "choices": "; ".join(str(d) for d in matches)}
                )
    tiers = rules.get("tiers") or []
    if tiers:
        tier_model = Customer._meta.get_field("bonus_account").related_model._meta.get_field("tier").related_model
        missing = set(tiers) - set(tier_model.objects.filter(code__in=tiers).values_list("code", flat=True))
        if missing:
            errors.append(_("Unknown tiers: %(codes)s.") % {"codes": ", ".join(sorted(map(str, missing)))})
    if rules.get("store") is not None:
        code, _mode = _store_parts(rules["store"])
        stores = list(_stores_matching(code)[:2])
        if not stores:
            errors.append(_("Unknown store “%(code)s”.") % {"code": code})
        elif len(stores) > 1:
            errors.append(
                _("Store “%(code)s” is ambiguous (%(choices)s): write its code.")
                % {"code": code, "choices": "; ".join(map(str, stores))}
            )
    answers = rules.get("answers") or []
    if answers:
        wanted = {_whole_number(a["question"]) for a in answers}
        known = set(apps.get_model("surveys", "Question").objects.filter(pk__in=wanted).values_list("pk", flat=True))
        if wanted - known:
            errors.append(
                _("Unknown survey questions: %(ids)s.") % {"ids": ", ".join(map(str, sorted(wanted - known)))}
            )
    tags = rules.get("tags") or []
    if tags:
        tag_model = Customer._meta.get_field("tags").related_model
        missing = set(tags) - set(tag_model.objects.filter(name__in=tags).values_list("name", flat=True))
        if missing:
            errors.append(_("Unknown tags: %(names)s.") % {"names": ", ".join(sorted(missing))})
    for group in GROUPS:
        for inner in rules.get(group) or []:
            errors += _reference_errors(inner)
    return list(dict.fromkeys(errors))


def validate_rules(rules) -> None:
    """Refuse rules that cannot be evaluated or that name a district, store, tier or question that does not exist.

    Raises ValidationError with every problem found, worded for the staff member who wrote the
    rules; a district name that fits districts in several cities is refused as ambiguous.
    """
    _check_shape(rules)
    errors = _reference_errors(rules)
    if errors:
        raise ValidationError(errors)


# Evaluation.


def _purchases(*, until: datetime.datetime) -> QuerySet:
    """The outer customer's purchases up to ``until``: accruals that no reversal undid."""
    ledger, to_customer = _related(LEDGER)
    # "reverses is not null" adds nothing for the lookup but lets a hash anti-join read the few reversals
    # from the reverses index instead of scanning the whole ledger for them.
    refunded = ledger.objects.filter(kind=REVERSAL, reverses=OuterRef("pk"), reverses__isnull=False)
    return ledger.objects.filter(**{to_customer: OuterRef("pk")}, kind=ACCRUAL, occurred_at__lte=until).exclude(
        Exists(refunded)
    )


def _purchase_rules(customers: QuerySet[Customer], rules: dict, *, now: datetime.datetime) -> QuerySet[Customer]:
    """Recency, frequency and spend, read from the rolling year the customer's account keeps.

    Frequency and spend are comparisons on the joined account row: the database reads the accounts
    once, whatever the number of customers (see the module docstring for what "12 months" then
    means). Recency: the latest purchase kept on the account must fall in the window, and either
    it is the purchase the rule needs (on or before ``now``, and no sale of the account in the
    window was refunded) or the ledger shows a purchase in the window that no refund undid. The
    refunds are read once; the ledger subquery runs only for the customers the first test leaves
    open (a refund in the window, or a purchase after ``now``), a few index lookups each.
    """
    recency, frequency = rules.get("bought_within_days"), rules.get("min_purchases_12m")
    least = _amount(rules["min_spend_12m"]) if rules.get("min_spend_12m") is not None else None
    if recency:
        since = now - datetime.timedelta(days=_whole_number(recency))
        ledger, _to_customer = _related(LEDGER)
        # Every account with a sale in the window that was refunded, and a few more: a refund is
        # recorded after its sale (a till may date a sale minutes ahead; a day covers it), so looking
        # at the refunds' own dates reads them from the partial index over the rare kinds alone, once.
        refunded_lately = ledger.objects.filter(kind=REVERSAL, occurred_at__gte=since - REFUND_MARGIN)
        latest_counts = Q(**{f"{ACCOUNT}__last_purchase_at__lte": now}) & ~Q(
            **{f"{ACCOUNT}__in": refunded_lately.values("account")}
        )
        # Bound by the latest sale as well, which takes no purchase away but ties the subquery to two
        # columns of the row: the database can only run it for the few customers it reaches, never
        # swap it for one hashed pass over the window's whole ledger.
        in_window = _purchases(until=now).filter(
            occurred_at__gte=since, occurred_at__lte=OuterRef(f"{ACCOUNT}__last_purchase_at")
        )
        customers = customers.filter(
            Q(**{f"{ACCOUNT}__last_purchase_at__gte": since}), latest_counts | Exists(in_window)
        )
    if frequency:
        customers = customers.filter(**{f"{ACCOUNT}__purchases_12m__gte": _whole_number(frequency)})
    if least:
        customers = customers.filter(**{f"{ACCOUNT}__spend_12m__gte": least})
    return customers


def _per_customer(lines: QuerySet, aggregate, *, zero=0) -> Coalesce:
    """One aggregate of the outer customer's ledger lines as a scalar subquery (``zero`` when there are none)."""
    _ledger, to_customer = _related(LEDGER)
    grouped = lines.order_by().values(to_customer).annotate(value=aggregate).values("value")
    return Coalesce(Subquery(grouped), Value(zero))


def _store_rule(customers: QuerySet[Customer], value, *, now: datetime.datetime) -> QuerySet[Customer]:
    """Customers of a store, by where they buy most or where they bought last.

    ``most_purchases``: at least one purchase at the store in the last 12 months and no other
    store with more in that time. ``last_purchase``: the latest purchase (at any time up to now)
    was at the store. Ties count for every store tied: a customer with as many purchases at two
    stores, or two purchases at the same moment in two stores, is a customer of both, because
    either store may fairly speak to them. Purchases with no store compete with none.
    """
    code, mode = _store_parts(value)
    return _buying_most_or_last_at(customers, _stores_matching(code).values("pk"), mode=mode, now=now)


def _buying_most_or_last_at(
    customers: QuerySet[Customer], stores: QuerySet, *, mode: str, now: datetime.datetime
) -> QuerySet[Customer]:
    """The store rule for a set of stores (their purchases counted together against any other single store)."""
    purchases = _purchases(until=now)
    at_store = purchases.filter(store__in=stores)
    if mode == LAST_PURCHASE:
        latest = Subquery(purchases.order_by("-occurred_at").values("occurred_at")[:1])
        return customers.alias(last_purchase_at=latest).filter(
            Exists(at_store.filter(occurred_at=OuterRef("last_purchase_at")))
        )
    ledger, to_customer = _related(LEDGER)
    year = purchases.filter(occurred_at__gte=now - YEAR)
    # Only the customers with a sale at the stores in the year (one hashed pass over those stores'
    # ledger lines, by their store index) are counted row by row: at 100k customers that takes a
    # district's frequent shoppers from 5 s to a fraction of it.
    bought_there = ledger.objects.filter(kind=ACCRUAL, store__in=stores, occurred_at__gte=now - YEAR)
    customers = customers.filter(pk__in=bought_there.values(to_customer))
    elsewhere = (
        year.exclude(store__in=stores)
        .filter(store__isnull=False)
        .order_by()
        .values(to_customer, "store")
        .annotate(value=Count("pk"))
        .order_by("-value")
        .values("value")[:1]
    )
    return customers.alias(
        purchases_at_store=_per_customer(year.filter(store__in=stores), Count("pk")),
        most_elsewhere=Coalesce(Subquery(elsewhere), 0),
    ).filter(purchases_at_store__gt=0, purchases_at_store__gte=F("most_elsewhere"))


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February in a year that has none
        return day.replace(year=day.year - years, day=28)


def _age_rule(customers: QuerySet[Customer], band: dict, *, now: datetime.datetime) -> QuerySet[Customer]:
    """Age in whole years on ``now``'s date: a range of birth dates (crm_customer_birth_date_idx)."""
    today = now.date()
    customers = customers.filter(birth_date__isnull=False)
    if band.get("min") is not None:
        customers = customers.filter(birth_date__lte=_years_before(today, band["min"]))
    if band.get("max") is not None:
        customers = customers.filter(birth_date__gt=_years_before(today, band["max"] + 1))
    return customers


def _score_range(thresholds: dict, low: int, high: int) -> tuple:
    """(at least, below) of a column for scores low..high given each score's lower bound (None: open)."""
    return thresholds.get(low), thresholds.get(high + 1) if high < 5 else None


def _rfm_rule(bands: dict, *, now: datetime.datetime) -> Q:
    """The RFM score bands as ranges on the account's columns (see the module docstring's table)."""
    condition = Q()
    if "recency" in bands:
        low, high = bands["recency"]
        # Recency scores run the other way: score 5 is the most recent. Score s covers purchases since
        # now - RFM_RECENCY_DAYS[s] days, up to (not including) score s+1's start.
        if low > 1:
            condition &= Q(
                **{f"{ACCOUNT}__last_purchase_at__gte": now - datetime.timedelta(days=RFM_RECENCY_DAYS[low])}
            )
        if high < 5:
            recent = Q(
                **{f"{ACCOUNT}__last_purchase_at__gte": now - datetime.timedelta(days=RFM_RECENCY_DAYS[high + 1])}
            )
            condition &= ~recent | Q(**{f"{ACCOUNT}__last_purchase_at__isnull": True})
    for dimension, column, thresholds in (
        ("frequency", "purchases_12m", RFM_FREQUENCY),
        ("monetary", "spend_12m", RFM_MONETARY),
    ):
        if dimension not in bands:
            continue
        least, below = _score_range(thresholds, *bands[dimension])
        if least is not None:
            condition &= Q(**{f"{ACCOUNT}__{column}__gte": least})
        if below is not None:
            # A customer with no account scores 1.
            condition &= Q(**{f"{ACCOUNT}__{column}__lt": below}) | Q(**{f"{ACCOUNT}__isnull": True})
    return condition


def _consent_rule(channel: str) -> Q:
    """Marketing consent granted on ``channel`` and not withdrawn since.

    The customer's latest broad event for the channel decides: a grant or withdrawal of marketing
    or of every message on it (an SMS STOP), or a grant or withdrawal of everything. Topic
    grants do not count: a customer who agreed to one topic has not agreed to a campaign's news.
    Set-based: a customer has a grant that no later withdrawal follows (a semi-join of the grants
    anti-joined with the withdrawals), never a lookup of each customer's latest event.
    """
    event_model, to_customer = _related("consent_events")
    broad = event_model.objects.filter(Q(channel=channel, scope__in=["marketing", "channel"]) | Q(scope="everything"))
    later = Q(created_at__gt=OuterRef("created_at")) | Q(created_at=OuterRef("created_at"), pk__gt=OuterRef("pk"))
    withdrawn_since = broad.filter(later, customer=OuterRef("customer"), action="withdrawn")
    standing = broad.filter(action="granted").exclude(Exists(withdrawn_since))
    return Q(pk__in=standing.values(to_customer))


def _apply(customers: QuerySet[Customer], rules: dict, *, now: datetime.datetime) -> QuerySet[Customer]:
    """``customers`` narrowed by every rule of one group (nested groups as semi-joins)."""
    if rules.get("districts"):
        chosen = _districts_matching(rules["districts"]).values("pk")
        # A semi-join, not a join: a customer who chose several of the districts stays one row.
        for_news = Customer.objects.filter(preference__districts__in=chosen).values("pk")
        customers = customers.filter(Q(home_district__in=chosen) | Q(pk__in=for_news))
    if rules.get("districts_home"):
        customers = customers.filter(home_district__in=_districts_matching(rules["districts_home"]).values("pk"))
    if rules.get("districts_work"):
        chosen = _districts_matching(rules["districts_work"]).values("pk")
        customers = customers.filter(pk__in=Customer.objects.filter(preference__districts__in=chosen).values("pk"))
    if rules.get("districts_frequent"):
        chosen = _districts_matching(rules["districts_frequent"]).values("pk")
        for_news = Customer.objects.filter(preference__districts__in=chosen).values("pk")
        shops_there = _buying_most_or_last_at(
            Customer.objects.all(), Store.objects.filter(district__in=chosen).values("pk"), mode=MOST_PURCHASES, now=now
        ).values("pk")
        customers = customers.filter(Q(pk__in=for_news) | Q(pk__in=shops_there))
    if rules.get("languages"):
        customers = customers.filter(language__in=rules["languages"])
    if rules.get("badges"):
        customers = customers.filter(preference__badge__in=rules["badges"])
    if rules.get("tiers"):
        customers = customers.filter(bonus_account__tier__code__in=rules["tiers"])
    if rules.get("gender"):
        customers = customers.filter(gender=rules["gender"])
    if rules.get("age"):
        customers = _age_rule(customers, rules["age"], now=now)
    if rules.get("birth_months"):
        customers = customers.filter(birth_date__month__in=rules["birth_months"])
    if rules.get("balance"):
        band = rules["balance"]
        # No account is a balance of 0.
        balance = Coalesce(F(f"{ACCOUNT}__balance"), Value(0))
        customers = customers.alias(points=balance)
        if band.get("min") is not None:
            customers = customers.filter(points__gte=band["min"])
        if band.get("max") is not None:
            customers = customers.filter(points__lte=band["max"])
    if rules.get("rfm"):
        customers = customers.filter(_rfm_rule(rules["rfm"], now=now))
    for channel in rules.get("consent") or []:
        customers = customers.filter(_consent_rule(channel))
    if rules.get("tags"):
        tagged = Customer.objects.filter(tags__name__in=rules["tags"]).values("pk")
        customers = customers.filter(pk__in=tagged)
    customers = _purchase_rules(customers, rules, now=now)
    if rules.get("store") is not None:
        customers = _store_rule(customers, rules["store"], now=now)
    answer_model = apps.get_model("surveys", "Answer")
    for answer in rules.get("answers") or []:
        value = answer["value"]
        matches = answer_model.objects.filter(
            response__customer=OuterRef("pk"),
            response__completed_at__isnull=False,
            question_id=_whole_number(answer["question"]),
        ).filter(Q(value=value) | Q(value__contains=[value]))
        customers = customers.filter(Exists(matches))
    for inner in rules.get("all") or []:
        customers = customers.filter(pk__in=_apply(Customer.objects.all(), inner, now=now).values("pk"))
    if rules.get("any"):
        either = Q(pk__in=[])
        for inner in rules["any"]:
            either |= Q(pk__in=_apply(Customer.objects.all(), inner, now=now).values("pk"))
        customers = customers.filter(either)
    # Every rule above is a condition on the customer row (no multi-valued join): no DISTINCT needed.
    return customers


def segment_customers(rules: dict, *, now: datetime.datetime | None = None) -> QuerySet[Customer]:
    """The active customers the rules select, as one query (see the module docstring for the rules).

    Raises ValidationError for rules of the wrong shape; a district, store, tier, tag or question that
    does not exist (any more) simply matches nobody, so a stored segment never breaks a page.
    """
    _check_shape(rules)
    now = now or timezone.now()
    return _apply(Customer.objects.filter(is_active=True), rules, now=now)
