"""The segment builder: rule rows in the admin instead of JSON, serialised to the rules of campaigns.segments.

Each row is one condition (a kind, its mode and its values, chosen from lists: no ids, no JSON).
Rows carry a group letter: a customer is in the segment when **every row of at least one group**
holds (rows of a group are AND-ed, groups OR-ed). One group is the plain rules object; several are
``{"any": [{group A}, {group B}]}``. ``rules_to_rows`` reads stored rules back into rows, so a
segment opens in the builder as it was saved; rules the builder cannot show (nested deeper, written
by code) open read-only, with the reason, and saving them needs the rows rebuilt.

The page works without JavaScript: the value fields of a row's kind show after "Preview", and
"Add rows" gives three more empty rows; a small script (static/admin/segments/builder.js) shows
the right fields at once and keeps a live count.
"""

import string
from decimal import Decimal

from django import forms
from django.apps import apps
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.dates import MONTHS
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import Segment
from campaigns.segments import (
    CONSENT_CHANNELS,
    LAST_PURCHASE,
    MOST_PURCHASES,
    RFM_DIMENSIONS,
    _districts_matching,
    _stores_matching,
    segment_customers,
    validate_rules,
)
from crm.models import Customer, District, Language, Store, Tag

GROUPS = list(string.ascii_uppercase[:6])
EXTRA_ROWS = 3

KINDS = [
    ("", "—"),
    ("district", gettext_lazy("district")),
    ("store", gettext_lazy("store")),
    ("language", gettext_lazy("language")),
    ("age", gettext_lazy("age band")),
    ("birth_month", gettext_lazy("birthday month")),
    ("gender", gettext_lazy("gender")),
    ("tier", gettext_lazy("loyalty tier")),
    ("balance", gettext_lazy("points balance")),
    ("recency", gettext_lazy("bought in the last … days")),
    ("frequency", gettext_lazy("purchases in 12 months, at least")),
    ("spend", gettext_lazy("spend in 12 months, at least")),
    ("rfm", gettext_lazy("RFM score band")),
    ("consent", gettext_lazy("marketing consent on")),
    ("badge", gettext_lazy("consent badge")),
    ("answer", gettext_lazy("survey answer")),
    ("tag", gettext_lazy("tag")),
]
DISTRICT_MODES = [
    ("districts", gettext_lazy("lives there or gets its local news")),
    ("districts_home", gettext_lazy("home: lives there")),
    ("districts_work", gettext_lazy("work: works in or often visits it")),
    ("districts_frequent", gettext_lazy("frequent: shops there most, or gets its local news")),
]
STORE_MODES = [
    (MOST_PURCHASES, gettext_lazy("buys there most (12 months)")),
    (LAST_PURCHASE, gettext_lazy("bought there last")),
]
RFM_CHOICES = [
    ("recency", gettext_lazy("recency")),
    ("frequency", gettext_lazy("frequency")),
    ("monetary", gettext_lazy("monetary value")),
]
CHANNEL_CHOICES = [
    ("email", gettext_lazy("e-mail")),
    ("sms", gettext_lazy("SMS")),
    ("messenger", gettext_lazy("messenger")),
    ("postal", gettext_lazy("letter")),
]
assert [c for c, _label in CHANNEL_CHOICES] == list(CONSENT_CHANNELS)
assert [d for d, _label in RFM_CHOICES] == list(RFM_DIMENSIONS)
SCORES = [(n, str(n)) for n in range(1, 6)]
# Which fields each kind reads (the template shows only these; the script hides the others).
KIND_FIELDS = {
    "district": ["district_mode", "districts"],
    "store": ["store_mode", "store"],
    "language": ["languages"],
    "age": ["low", "high"],
    "birth_month": ["months"],
    "gender": ["gender"],
    "tier": ["tiers"],
    "balance": ["low", "high"],
    "recency": ["number"],
    "frequency": ["number"],
    "spend": ["amount"],
    "rfm": ["rfm", "low", "high"],
    "consent": ["channels"],
    "badge": ["badges"],
    "answer": ["answer"],
    "tag": ["tags"],
}
# In the order a row shows them: a mode before its values, a lower bound before the upper.
VALUE_FIELDS = [
    "district_mode", "districts", "store_mode", "store", "languages", "months", "gender", "tiers", "rfm", "low",
    "high", "number", "amount", "channels", "badges", "answer", "tags",
]  # fmt: skip
assert set(VALUE_FIELDS) == {name for names in KIND_FIELDS.values() for name in names}


def _tier_model():
    return Customer._meta.get_field("bonus_account").related_model._meta.get_field("tier").related_model


def _badge_choices():
    return Customer._meta.get_field("preference").related_model._meta.get_field("badge").choices


def answer_choices(extra: list[tuple[int, str]] = ()) -> list[tuple[str, str]]:
    """Every option of every choice question, labelled "survey › question › option" (one query)."""
    question_model = apps.get_model("surveys", "Question")
    questions = question_model.objects.select_related("survey").order_by("survey__title", "position", "pk")
    choices, seen = [("", "—")], set()
    for question in questions:
        options = [(str(c.get("value")), c.get("label") or str(c.get("value"))) for c in question.choices or []]
        if question.kind in ("single", "multiple") or options:
            for value, label in options:
                choices.append((f"{question.pk}:{value}", f"{question.survey.title} › {question.text} › {label}"))
                seen.add((question.pk, value))
    for question_id, value in extra:
        if (question_id, value) not in seen:
            choices.append((f"{question_id}:{value}", _("question no longer offers it › %(value)s") % {"value": value}))
    return choices


class RuleRowForm(forms.Form):
    group = forms.ChoiceField(label=gettext_lazy("group"), choices=[(g, g) for g in GROUPS], initial="A")
    kind = forms.ChoiceField(label=gettext_lazy("rule"), choices=KINDS, required=False)
    district_mode = forms.ChoiceField(label=gettext_lazy("how"), choices=DISTRICT_MODES, required=False)
    districts = forms.ModelMultipleChoiceField(
        label=gettext_lazy("districts"), queryset=District.objects.all(), required=False
    )
    store_mode = forms.ChoiceField(label=gettext_lazy("how"), choices=STORE_MODES, required=False)
    store = forms.ModelChoiceField(
        label=gettext_lazy("store"), queryset=Store.objects.all(), to_field_name="code", required=False
    )
    languages = forms.MultipleChoiceField(label=gettext_lazy("languages"), choices=Language.choices, required=False)
    months = forms.TypedMultipleChoiceField(
        label=gettext_lazy("months"), coerce=int, choices=sorted(MONTHS.items()), required=False
    )
    gender = forms.ChoiceField(
        label=gettext_lazy("gender"), choices=[g for g in Customer.Gender.choices if g[0]], required=False
    )
    tiers = forms.ModelMultipleChoiceField(
        label=gettext_lazy("tiers"), queryset=Tag.objects.none(), to_field_name="code", required=False
    )
    rfm = forms.ChoiceField(label=gettext_lazy("score"), choices=RFM_CHOICES, required=False)
    low = forms.IntegerField(label=gettext_lazy("from"), min_value=0, required=False)
    high = forms.IntegerField(label=gettext_lazy("to"), min_value=0, required=False)
    number = forms.IntegerField(label=gettext_lazy("number"), min_value=1, required=False)
    amount = forms.DecimalField(label=gettext_lazy("amount"), min_value=Decimal(0), decimal_places=2, required=False)
    channels = forms.MultipleChoiceField(label=gettext_lazy("channels"), choices=CHANNEL_CHOICES, required=False)
    badges = forms.MultipleChoiceField(label=gettext_lazy("badges"), choices=(), required=False)
    answer = forms.ChoiceField(label=gettext_lazy("answer"), choices=(), required=False)
    tags = forms.ModelMultipleChoiceField(
        label=gettext_lazy("tags"), queryset=Tag.objects.all(), to_field_name="name", required=False
    )

    def __init__(self, *args, answers=None, lists=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tiers"].queryset = _tier_model().objects.all()
        self.fields["badges"].choices = _badge_choices()
        self.fields["answer"].choices = answers if answers is not None else answer_choices()
        # The formset reads each list once for all its rows (validation still asks the database).
        for name, choices in (lists or {}).items():
            self.fields[name].choices = choices

    def shown_fields(self):
        """The value fields of this row's kind, as bound fields (all of them for a row with no kind yet)."""
        kind = self["kind"].value() or ""
        return [self[name] for name in KIND_FIELDS.get(kind, [])]

    def value_fields(self):
        """Every value field, each with whether this row's kind reads it (the template hides the others)."""
        kind = self["kind"].value() or ""
        return [(self[name], name in KIND_FIELDS.get(kind, [])) for name in VALUE_FIELDS]

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if not kind:
            return data
        need = _("Choose at least one.")
        key_values = {
            "language": ("languages", "languages"),
            "tier": ("tiers", "tiers"),
            "consent": ("consent", "channels"),
            "badge": ("badges", "badges"),
            "tag": ("tags", "tags"),
            "birth_month": ("birth_months", "months"),
        }
        if kind in key_values:
            key, field = key_values[kind]
            values = data.get(field) or []
            if not values:
                self.add_error(field, need)
                return data
            if field in ("tiers",):
                values = [t.code for t in values]
            elif field == "tags":
                values = [t.name for t in values]
            data["rule"] = {key: list(values)}
        elif kind == "district":
            if not data.get("districts"):
                self.add_error("districts", need)
                return data
            data["rule"] = {data.get("district_mode") or "districts": [d.pk for d in data["districts"]]}
        elif kind == "store":
            if not data.get("store"):
                self.add_error("store", _("Choose a store."))
                return data
            data["rule"] = {"store": {"code": data["store"].code, "mode": data.get("store_mode") or MOST_PURCHASES}}
        elif kind == "gender":
            if not data.get("gender"):
                self.add_error("gender", _("Choose one."))
                return data
            data["rule"] = {"gender": data["gender"]}
        elif kind in ("age", "balance", "rfm"):
            low, high = data.get("low"), data.get("high")
            if low is None and high is None:
                self.add_error("low", _("Give a lower or an upper bound, or both."))
                return data
            if low is not None and high is not None and low > high:
                self.add_error("high", _("The upper bound is below the lower one."))
                return data
            if kind == "rfm":
                low, high = low or 1, high or 5
                if not (1 <= low <= 5 and 1 <= high <= 5):
                    self.add_error("high", _("RFM scores run from 1 to 5."))
                    return data
                data["rule"] = {"rfm": {data.get("rfm") or "recency": [low, high]}}
            else:
                band = {end: n for end, n in (("min", low), ("max", high)) if n is not None}
                data["rule"] = {kind: band}
        elif kind in ("recency", "frequency"):
            if data.get("number") is None:
                self.add_error("number", _("Give a number."))
                return data
            key = "bought_within_days" if kind == "recency" else "min_purchases_12m"
            data["rule"] = {key: data["number"]}
        elif kind == "spend":
            if data.get("amount") is None:
                self.add_error("amount", _("Give an amount."))
                return data
            data["rule"] = {"min_spend_12m": str(data["amount"])}
        elif kind == "answer":
            if not data.get("answer"):
                self.add_error("answer", _("Choose an answer."))
                return data
            question, _colon, value = data["answer"].partition(":")
            data["rule"] = {"answers": [{"question": int(question), "value": value}]}
        return data


class BaseRuleRowFormSet(forms.BaseFormSet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        extra = [pair for row in self.initial or [] for pair in row.get("_answers", [])]
        self._answers = answer_choices(extra)
        self._lists = None

    def get_form_kwargs(self, index):
        if self._lists is None:
            fields = self.form.base_fields
            self._lists = {
                "districts": list(fields["districts"].choices),
                "store": list(fields["store"].choices),
                "tags": list(fields["tags"].choices),
                "tiers": [(t.code, str(t)) for t in _tier_model().objects.all()],
            }
        return {**super().get_form_kwargs(index), "answers": self._answers, "lists": self._lists}

    def rules(self) -> dict:
        """The rules the (valid) rows make: one group is a plain object, several an "any" of them."""
        groups: dict[str, dict] = {}
        errors = []
        for form in self.forms:
            rule = form.cleaned_data.get("rule") if form.cleaned_data else None
            if not rule or form.cleaned_data.get("DELETE"):
                continue
            group = groups.setdefault(form.cleaned_data["group"], {})
            for key, value in rule.items():
                if key not in group:
                    group[key] = value
                elif key == "answers":
                    group[key] = group[key] + value
                elif key == "rfm" and not set(value) & set(group[key]):
                    group[key] = {**group[key], **value}
                else:
                    errors.append(
                        _("Group %(group)s has two rows of the same kind: choose several values in one row instead.")
                        % {"group": form.cleaned_data["group"]}
                    )
        if errors:
            raise ValidationError(list(dict.fromkeys(errors)))
        ordered = [groups[g] for g in sorted(groups)]
        if len(ordered) <= 1:
            return ordered[0] if ordered else {}
        return {"any": ordered}


RuleRowFormSet = forms.formset_factory(
    RuleRowForm, formset=BaseRuleRowFormSet, extra=EXTRA_ROWS, can_delete=True, max_num=60, validate_max=True
)


def _row_of(group: str, key: str, value) -> dict | list[dict] | None:
    """The row (initial data) showing one stored rule, None when the builder cannot show it."""
    row = {"group": group}
    if key in ("districts", "districts_home", "districts_work", "districts_frequent"):
        districts = list(_districts_matching(value)) if value else []
        return {**row, "kind": "district", "district_mode": key, "districts": [d.pk for d in districts]}
    simple = {
        "languages": ("language", "languages"),
        "tiers": ("tier", "tiers"),
        "consent": ("consent", "channels"),
        "badges": ("badge", "badges"),
        "tags": ("tag", "tags"),
        "birth_months": ("birth_month", "months"),
    }
    if key in simple:
        kind, field = simple[key]
        return {**row, "kind": kind, field: list(value)}
    if key == "gender":
        return {**row, "kind": "gender", "gender": value}
    if key == "store":
        code, mode = (
            (value.get("code"), value.get("mode", MOST_PURCHASES))
            if isinstance(value, dict)
            else (value, MOST_PURCHASES)
        )
        store = _stores_matching(code).first()
        return {**row, "kind": "store", "store_mode": mode, "store": store.code if store else None}
    if key in ("age", "balance"):
        return {**row, "kind": key, "low": value.get("min"), "high": value.get("max")}
    if key == "rfm":
        return [{**row, "kind": "rfm", "rfm": dim, "low": band[0], "high": band[1]} for dim, band in value.items()]
    if key == "bought_within_days":
        return {**row, "kind": "recency", "number": int(value)}
    if key == "min_purchases_12m":
        return {**row, "kind": "frequency", "number": int(value)}
    if key == "min_spend_12m":
        return {**row, "kind": "spend", "amount": Decimal(str(value))}
    if key == "answers":
        return [
            {
                **row,
                "kind": "answer",
                "answer": f"{a['question']}:{a['value']}",
                "_answers": [(int(a["question"]), str(a["value"]))],
            }
            for a in value
        ]
    return None


def rules_to_rows(rules) -> list[dict] | None:
    """The rows (formset initial data) that show ``rules``; None when the builder cannot show them."""
    if not isinstance(rules, dict):
        return None
    if set(rules) == {"any"} and isinstance(rules["any"], list) and len(rules["any"]) <= len(GROUPS):
        groups = rules["any"]
    elif "any" in rules or "all" in rules:
        return None
    else:
        groups = [rules]
    rows = []
    for group, inner in zip(GROUPS, groups, strict=False):
        if not isinstance(inner, dict) or "any" in inner or "all" in inner:
            return None
        for key, value in inner.items():
            if value in (None, [], ""):
                continue
            try:
                made = _row_of(group, key, value)
            except (AttributeError, TypeError, ValueError, KeyError, IndexError):
                return None
            if made is None:
                return None
            rows.extend(made if isinstance(made, list) else [made])
    return rows


class SegmentBuilderForm(forms.ModelForm):
    """The segment's name and its rule rows; the rules object is made from the rows on save.

    "Preview" and "Add rows" are submit buttons that re-render the form (nothing saved): the admin
    sees ``is_valid()`` False with no errors, and the page shows ``preview_rules``'s count and sample.
    """

    PREVIEW, ADD_ROWS = "_preview", "_addrows"

    class Meta:
        model = Segment
        fields = ["name"]

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.previewing = data is not None and (self.PREVIEW in data or self.ADD_ROWS in data)
        self.preview_rules = None
        stored = self.instance.rules if self.instance.pk else {}
        self.initial["rules"] = stored
        initial = rules_to_rows(stored)
        self.too_complex = initial is None
        if data is not None and self.ADD_ROWS in data:
            data = data.copy()
            key = "rule-TOTAL_FORMS"
            data[key] = str(int(data.get(key) or 0) + EXTRA_ROWS)
        self.rows = RuleRowFormSet(data, initial=initial or [], prefix="rule")

    def clean(self):
        data = super().clean()
        if not self.rows.is_valid():
            raise ValidationError(_("Some rule rows need fixing: see the rows below."))
        rules = self.rows.rules()
        if not rules and self.too_complex and not self.rows.has_changed():
            rules = self.instance.rules  # untouched: hand-written rules stay as they were
        validate_rules(rules)
        data["rules"] = rules
        return data

    def is_valid(self):
        valid = super().is_valid()
        if valid and self.previewing:
            self.preview_rules = self.cleaned_data["rules"]
            return False  # re-render with the preview, save nothing (no errors: no error note)
        return valid

    @property
    def changed_data(self):
        # The rules are not a form field: named here when the rows changed them, so the audit records them.
        changed = list(super().changed_data)
        if (
            self.is_bound
            and getattr(self, "cleaned_data", {}).get("rules", self.initial["rules"]) != self.initial["rules"]
        ):
            changed.append("rules")
        return changed

    def save(self, commit=True):
        self.instance.rules = self.cleaned_data["rules"]
        return super().save(commit)


def segment_preview(rules: dict, *, user) -> dict:
    """The count of ``rules``'s members and ten of them, linked for those who may open customers.

    The sample is not store-scoped, as the segment's own "a few of them" is not (segments are not
    scoped: marketing builds them without customer records); only the links depend on the user.
    Two queries: the count (the segment's own one query) and the sample with its districts and tiers.
    """
    members = segment_customers(rules)
    sample = members.select_related("home_district", "bonus_account__tier").order_by("pk")[:10]
    return {"count": members.count(), "sample": list(sample), "links": user.has_perm("crm.view_customer")}


def builder_context(form: SegmentBuilderForm, *, user) -> dict:
    """What the builder's template needs beyond the form: each kind's fields, and the preview if asked for."""
    context = {"kind_fields": KIND_FIELDS}
    if form.preview_rules is not None:
        context["preview"] = segment_preview(form.preview_rules, user=user)
    return context


def segment_count_view(request):
    """JSON {"count": n} for the rules of the rows in the query string (the builder's live count), or the errors."""
    if "rule-TOTAL_FORMS" not in request.GET:  # no rows: every active customer
        return JsonResponse({"count": segment_customers({}).count()})
    rows = RuleRowFormSet(request.GET, prefix="rule")
    errors = []
    if rows.is_valid():
        try:
            rules = rows.rules()
            validate_rules(rules)
            return JsonResponse({"count": segment_customers(rules).count()})
        except ValidationError as error:
            errors = error.messages
    else:
        errors = [str(e) for e in rows.non_form_errors()]
        for row in rows.forms:
            errors += [f"{row[name].label}: {message}" for name, messages in row.errors.items() for message in messages]
    return JsonResponse({"errors": errors or [_("Some rule rows need fixing.")]}, status=400)
