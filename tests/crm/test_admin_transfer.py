"""Import and export in the admin: dry run first, the import_customers rules, idempotent ledger
adjustments, permissions, store scope and the audit trail."""

import textwrap

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum
from django.urls import reverse

from audit.models import AuditEntry
from crm import roles
from crm.models import Customer, StaffProfile, Store
from loyalty.models import BonusAccount, BonusTransaction
from loyalty.resources import IMPORT_SOURCE
from loyalty.services import points_adjust


def _file(text: str, name: str = "rows.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, textwrap.dedent(text).lstrip().encode(), content_type="text/csv")


def _user(name: str, *, group: str | None = None, perms: tuple[str, ...] = (), store=None) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    if group:
        user.groups.add(Group.objects.get(name=group))
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    if store:
        StaffProfile.objects.create(user=user, store=store)
    return user


def _dry_run(client, url_name: str, upload):
    return client.post(reverse(f"admin:{url_name}_import"), {"import_file": upload, "format": "0", "resource": "0"})


def _confirm(client, url_name: str, dry_run):
    form = dry_run.context["confirm_form"]
    data = {name: form.initial[name] for name in ("import_file_name", "original_file_name", "format", "resource")}
    return client.post(reverse(f"admin:{url_name}_process_import"), data)


@pytest.fixture
def administrator(db):
    return _user("boss", group=roles.ADMINISTRATOR)


@pytest.fixture
def kesklinn(district_factory, store_factory):
    return store_factory(code="TLN-001", district=district_factory(name="Kesklinn", city="Tallinn"))


# --- Customers --------------------------------------------------------------------------------


def test_a_dry_run_with_a_bad_phone_shows_the_line_and_writes_nothing(client, administrator, kesklinn):
    client.force_login(administrator)
    before = Customer.objects.count()

    response = _dry_run(
        client,
        "crm_customer",
        _file(
            """\
            external_id,first_name,email,phone,district,city,store
            C-1,Mari,Mari@Example.EE,5123 4567,Kesklinn,Tallinn,TLN-001
            C-2,Bad,bad@example.com,12,,,
            """
        ),
    )

    assert response.status_code == 200
    result = response.context["result"]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 2 and "phone" in invalid.field_specific_errors
    assert "is not a valid phone number" in response.content.decode()
    assert "confirm_form" not in response.context  # nothing to confirm while a line fails
    assert Customer.objects.count() == before
    assert not AuditEntry.objects.filter(object_type="crm.customer").exists()


def test_a_confirmed_import_creates_and_updates_customers_normalised_and_audited(
    client, administrator, kesklinn, customer_factory
):
    known = customer_factory(external_id="C-9", email="old@example.com", phone="", first_name="Olev")
    client.force_login(administrator)
    upload = """\
        external_id,first_name,last_name,email,phone,language,district,city,store
        C-1,Mari,Tamm,Mari.Tamm@Example.EE,5123 4567,et,Kesklinn,Tallinn,TLN-001
        C-9,,,OLD@example.com,+372 5555 0001,,,,
        """

    dry_run = _dry_run(client, "crm_customer", _file(upload))
    assert dry_run.status_code == 200 and "confirm_form" in dry_run.context
    assert [row.import_type for row in dry_run.context["result"].rows] == ["new", "update"]
    assert not Customer.objects.filter(external_id="C-1").exists()  # a dry run writes nothing

    done = _confirm(client, "crm_customer", dry_run)

    assert done.status_code == 302
    mari = Customer.objects.get(external_id="C-1")
    assert (mari.email, str(mari.phone), mari.language) == ("mari.tamm@example.ee", "+37251234567", "et")
    assert mari.home_store == kesklinn and mari.home_district.name == "Kesklinn"
    known.refresh_from_db()
    assert (str(known.phone), known.first_name) == ("+37255550001", "Olev")  # a blank phone filled in
    added = AuditEntry.objects.get(action="add", object_type="crm.customer")
    assert added.object_id == str(mari.pk) and added.actor == administrator
    changed = AuditEntry.objects.get(action="change", object_type="crm.customer")
    assert changed.object_id == str(known.pk) and changed.changes["phone"] == ["", "+37255550001"]

    again = _dry_run(client, "crm_customer", _file(upload))
    assert [row.import_type for row in again.context["result"].rows] == ["skip", "skip"]


def test_a_dry_run_reads_the_whole_file_in_a_constant_number_of_queries(
    client, administrator, kesklinn, customer_factory, django_assert_max_num_queries
):
    client.force_login(administrator)
    for n in range(40):
        customer_factory(external_id=f"C-{n}", email=f"c{n}@example.com", phone="")
    header = "external_id,email,phone,district,city,store\n"
    for size in (5, 40):
        body = "".join(f"C-{n},c{n}@example.com,5123 {n:04d},Kesklinn,Tallinn,TLN-001\n" for n in range(size))
        with django_assert_max_num_queries(20):
            response = _dry_run(client, "crm_customer", _file(header + body))
        assert len(response.context["result"].rows) == size and "confirm_form" in response.context


def test_an_import_refuses_an_identifier_that_would_move_to_another_customer(client, administrator, customer_factory):
    customer_factory(external_id="C-1", email="mari@example.com")
    customer_factory(external_id="C-2", email="juri@example.com")
    client.force_login(administrator)

    response = _dry_run(client, "crm_customer", _file("external_id,email\nC-1,juri@example.com\n"))

    [invalid] = response.context["result"].invalid_rows
    assert "different existing customers" in " ".join(invalid.non_field_specific_errors)
    assert Customer.objects.get(external_id="C-1").email == "mari@example.com"


def test_a_file_without_a_contact_column_is_refused_in_words(client, administrator):
    client.force_login(administrator)
    response = _dry_run(client, "crm_customer", _file("external_id,first_name\nC-1,Mari\n"))
    page = response.content.decode()
    assert "the file needs an “email” or a “phone” column" in page and "Traceback" not in page
    assert "confirm_form" not in response.context and not Customer.objects.exists()


def test_only_those_who_see_every_customer_and_may_add_them_import(client, db):
    service = _user("cs", group=roles.CUSTOMER_SERVICE)
    client.force_login(service)
    assert client.get(reverse("admin:crm_customer_import")).status_code == 403
    assert client.post(reverse("admin:crm_customer_process_import"), {}).status_code == 403


# --- Customer export ------------------------------------------------------------------------------


def test_customer_export_is_for_those_who_may_export_personal_data_and_is_audited(client, customer_factory, kesklinn):
    customer_factory(external_id="C-1", email="mari@example.com", phone="+37251234567", home_store=kesklinn)
    service = _user("cs", group=roles.CUSTOMER_SERVICE)
    client.force_login(service)
    assert client.get(reverse("admin:crm_customer_export")).status_code == 403
    page = client.get(reverse("admin:crm_customer_changelist")).content.decode()
    assert reverse("admin:crm_customer_export") not in page

    officer = _user("dpo", group=roles.DATA_PROTECTION_OFFICER)
    client.force_login(officer)
    assert reverse("admin:crm_customer_export") in client.get(reverse("admin:crm_customer_changelist")).content.decode()
    response = client.post(reverse("admin:crm_customer_export"), _export_form("customerresource"))

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0].split(",")[:5] == ["external_id", "first_name", "last_name", "email", "phone"]
    assert "C-1" in lines[1] and "mari@example.com" in lines[1] and "+37251234567" in lines[1]
    assert "TLN-001" in lines[1]
    entry = AuditEntry.objects.get(action="export", object_type="crm.customer")
    assert entry.actor == officer and entry.changes["count"] == [None, 1]


def test_store_scoped_staff_export_only_their_stores_customers(client, customer_factory, kesklinn, store_factory):
    ours = customer_factory(home_store=kesklinn)
    customer_factory(home_store=store_factory())
    manager = _user("manager", group=roles.STORE_MANAGER, perms=("privacy.export_customer",), store=kesklinn)
    client.force_login(manager)

    response = client.post(reverse("admin:crm_customer_export"), _export_form("customerresource"))

    rows = response.content.decode().splitlines()[1:]
    assert len(rows) == 1 and ours.email in rows[0]


def _export_form(resource: str) -> dict:
    from crm.resources import CustomerResource, StoreResource

    columns = {"customerresource": CustomerResource, "storeresource": StoreResource}[resource]._meta.fields
    return {"format": "0", "resource": "0", **{f"{resource}_{name}": "on" for name in columns}}


# --- Stores -----------------------------------------------------------------------------------


def test_stores_import_by_code_with_phones_normalised(client, administrator, kesklinn):
    client.force_login(administrator)
    upload = _file(
        """\
        code,name,district,address,phone,time_zone,opening_hours,is_active
        TLN-001,Kesklinn flagship,"Kesklinn, Tallinn",Narva mnt 1,5123 4567,Europe/Tallinn,Mon–Sun 9–21,1
        TLN-002,Kesklinn two,Kesklinn,Narva mnt 9,+372 600 1234,Europe/Tallinn,,1
        TLN-003,Nowhere,Atlantis,Sea 1,,Europe/Tallinn,,1
        """
    )
    dry_run = _dry_run(client, "crm_store", upload)
    [invalid] = dry_run.context["result"].invalid_rows
    assert invalid.number == 3 and "district" in invalid.field_specific_errors

    fixed = _file(
        """\
        code,name,district,address,phone,time_zone,opening_hours,is_active
        TLN-001,Kesklinn flagship,"Kesklinn, Tallinn",Narva mnt 1,5123 4567,Europe/Tallinn,Mon–Sun 9–21,1
        TLN-002,Kesklinn two,Kesklinn,Narva mnt 9,+372 600 1234,Europe/Tallinn,,1
        """
    )
    assert _confirm(client, "crm_store", _dry_run(client, "crm_store", fixed)).status_code == 302
    kesklinn.refresh_from_db()
    assert (kesklinn.name, str(kesklinn.phone)) == ("Kesklinn flagship", "+37251234567")
    assert str(Store.objects.get(code="TLN-002").phone) == "+3726001234"
    assert AuditEntry.objects.filter(object_type="crm.store", action="add").count() == 1


# --- Ledger adjustments -------------------------------------------------------------------------


ADJUSTMENTS = """\
    external_id,email,phone,points,reason
    C-1,,,50,Goodwill for the late delivery
    ,JURI@example.com,,30,Survey prize
    ,,5123 0000,-5,Double-counted coupon
    C-1,,,50,Goodwill for the late delivery
    """


@pytest.fixture
def ledger_customers(customer_factory):
    mari = customer_factory(external_id="C-1", email="mari@example.com")
    juri = customer_factory(external_id="C-2", email="juri@example.com")
    kati = customer_factory(external_id="C-3", email="kati@example.com", phone="+37251230000")
    return mari, juri, kati


def test_adjustments_import_through_the_ledger_and_importing_again_changes_nothing(
    client, ledger_customers, administrator
):
    mari, juri, kati = ledger_customers
    points_adjust(customer=kati, points=20, reason="opening balance", staff=administrator)
    service = _user("cs", group=roles.CUSTOMER_SERVICE)
    client.force_login(service)

    dry_run = _dry_run(client, "loyalty_bonustransaction", _file(ADJUSTMENTS))
    assert [row.import_type for row in dry_run.context["result"].rows] == ["new"] * 4
    assert not BonusTransaction.objects.filter(source=IMPORT_SOURCE).exists()
    assert _confirm(client, "loyalty_bonustransaction", dry_run).status_code == 302

    balances = {c.external_id: BonusAccount.objects.get(customer=c).balance for c in (mari, juri, kati)}
    assert balances == {"C-1": 100, "C-2": 30, "C-3": 15}  # a line written twice counts twice
    imported = BonusTransaction.objects.filter(source=IMPORT_SOURCE)
    assert imported.count() == 4 and set(imported.values_list("staff", flat=True)) == {service.pk}
    for account in BonusAccount.objects.all():
        assert account.balance == account.transactions.aggregate(total=Sum("points"))["total"]

    again = _dry_run(client, "loyalty_bonustransaction", _file(ADJUSTMENTS))
    assert [row.import_type for row in again.context["result"].rows] == ["skip"] * 4
    _confirm(client, "loyalty_bonustransaction", again)
    assert BonusTransaction.objects.filter(source=IMPORT_SOURCE).count() == 4
    assert BonusAccount.objects.get(customer=mari).balance == 100


def test_an_adjustment_larger_than_the_balance_or_for_nobody_is_refused_in_the_dry_run(
    client, ledger_customers, administrator
):
    client.force_login(administrator)
    response = _dry_run(
        client,
        "loyalty_bonustransaction",
        _file("external_id,points,reason\nC-1,-500,Too much\nC-404,10,Nobody\nC-2,0,Nothing\n"),
    )
    errors = {row.number: row.field_specific_errors for row in response.context["result"].invalid_rows}
    assert set(errors) == {1, 2, 3}
    assert "points" in errors[1] and "external_id" in errors[2] and "points" in errors[3]
    assert not BonusTransaction.objects.exists()


def test_adjustments_import_takes_the_right_to_adjust_points(client, db):
    manager = _user("manager", group=roles.STORE_MANAGER)
    client.force_login(manager)
    assert client.get(reverse("admin:loyalty_bonustransaction_import")).status_code == 403
    page = client.get(reverse("admin:loyalty_bonustransaction_changelist")).content.decode()
    assert reverse("admin:loyalty_bonustransaction_import") not in page
