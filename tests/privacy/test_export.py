import json

from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps

from crm.models import Customer
from privacy.export import customer_export
from privacy.models import DataRequest
from privacy.registry import HOLDINGS, NOT_EXPORTED
from tests.notifications.factories import due_notification


def models_about_customers(candidates) -> set[type[models.Model]]:
    """Every model with a path to a Customer: a foreign key, one-to-one or many-to-many field to
    Customer, or to a model that has one (BonusTransaction → BonusAccount → Customer)."""
    found = {Customer}
    while True:
        more = {
            model
            for model in candidates
            if model not in found
            and not model._meta.proxy
            and any(
                field.is_relation
                and (field.concrete or (field.many_to_many and not field.auto_created))  # forward only
                and field.related_model in found
                for field in model._meta.get_fields()
            )
        }
        if not more:
            return found
        found |= more


def uncovered(candidates) -> set[str]:
    covered = {holding.model for holding in HOLDINGS} | set(NOT_EXPORTED)
    return {model._meta.label for model in models_about_customers(candidates) - covered}


def test_every_model_that_holds_data_about_a_customer_is_exported_or_left_out_with_a_reason():
    assert uncovered(apps.get_models()) == set()
    assert all(str(reason).strip() for reason in NOT_EXPORTED.values())
    assert len({holding.model for holding in HOLDINGS}) == len(HOLDINGS)


@isolate_apps("privacy")
def test_a_new_model_pointing_at_customers_is_caught_until_it_is_covered():
    class LoyaltyCardScan(models.Model):  # noqa: DJ008
        customer = models.ForeignKey(Customer, on_delete=models.PROTECT)

        class Meta:
            app_label = "privacy"

    class ScanNote(models.Model):  # noqa: DJ008 (through another model, two steps away)
        scan = models.ForeignKey(LoyaltyCardScan, on_delete=models.CASCADE)

        class Meta:
            app_label = "privacy"

    class Household(models.Model):  # noqa: DJ008 (many-to-many)
        members = models.ManyToManyField(Customer)

        class Meta:
            app_label = "privacy"

    assert uncovered([*apps.get_models(), LoyaltyCardScan, ScanNote, Household]) == {
        "privacy.LoyaltyCardScan",
        "privacy.ScanNote",
        "privacy.Household",
    }


def test_every_field_of_a_covered_model_is_exported_or_left_out_with_a_reason(full_customer):
    export = customer_export(full_customer.customer)
    for holding in HOLDINGS:
        section = export["sections"][holding.model._meta.label_lower]
        fields = holding.model._meta.get_fields()
        names = {f.name for f in fields if f.concrete or (f.many_to_many and not f.auto_created)}
        left_out = set(holding.left_out())
        assert set(section["fields"]) | left_out == names, holding.model
        assert not set(section["fields"]) & left_out
        assert all(str(reason).strip() for reason in holding.left_out().values())


def test_export_holds_everything_about_the_customer_and_nothing_about_others(full_customer, bystander):
    DataRequest.objects.create(customer=full_customer.customer, kind="export_json", source="customer")
    export = customer_export(full_customer.customer)
    text = json.dumps(export, ensure_ascii=False)  # plain JSON: no encoder needed

    assert export["customer"] == str(full_customer.customer.public_id)
    for label, value in full_customer.values.items():
        assert value in text, label
    for label, value in bystander.values.items():
        if label not in ("IP address", "birth date"):
            assert value not in text, label
    for holding in HOLDINGS:
        section = export["sections"][holding.model._meta.label_lower]
        assert section["title"] and section["rows"], holding.model  # the fixture has data everywhere

    [me] = export["sections"]["crm.customer"]["rows"]
    assert me["email"] == full_customer.values["e-mail"] and me["phone"] == full_customer.values["phone"]
    assert me["birth_date"] == "1987-06-05" and me["home_store"].startswith("Store")
    assert "id" not in me and "token_version" not in me  # the integer id never leaves; links' plumbing
    [preference] = export["sections"]["notifications.preference"]["rows"]
    assert preference["districts"] and "messenger_link_code" not in preference  # a live one-time secret
    ledger = export["sections"]["loyalty.bonustransaction"]["rows"]
    assert sorted(row["kind"] for row in ledger) == ["accrual", "accrual", "adjustment", "redemption"]
    assert all("staff" not in row for row in ledger)  # staff are other people
    consents = export["sections"]["notifications.consentevent"]["rows"]
    assert {(row["channel"], row["action"]) for row in consents} >= {("email", "granted"), ("sms", "withdrawn")}
    assert export["sections"]["notifications.deliveryevent"]["rows"][0]["recipient"]


def test_export_takes_a_fixed_number_of_queries_whatever_the_number_of_rows(
    full_customer, django_assert_max_num_queries
):
    for _ in range(30):
        due_notification(full_customer.customer, body="more")
    # One per model, one per reference shown by name, one per many-to-many field.
    with django_assert_max_num_queries(len(HOLDINGS) + 15):
        customer_export(full_customer.customer)
