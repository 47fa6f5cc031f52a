import io
import textwrap

import pytest
from django.core.management import CommandError, call_command

from crm.models import Customer
from crm.services import ImportFileError, customers_import_csv


def _csv(text: str) -> io.StringIO:
    return io.StringIO(textwrap.dedent(text).lstrip())


GOOD_AND_BAD = """\
    external_id,first_name,last_name,email,phone,language,time_zone,district,city,store,country
    C-1,Mari,Tamm,Mari.Tamm@Example.EE,5123 4567,et,Europe/Tallinn,Kesklinn,Tallinn,TLN-001
    C-2,Mikko,Virtanen,mikko@example.fi,+358 40 123 4567,fi,Europe/Helsinki,,,
    C-3,No,Contact,,,en,Europe/Tallinn,,,
    C-4,Bad,Phone,bad@example.com,12,en,Europe/Tallinn,,,
    C-5,Bad,Zone,zone@example.com,,en,Mars/Olympus,,,
    C-6,Bad,Mail,not-an-email,,en,Europe/Tallinn,,,
    C-7,Bad,Store,store@example.com,,en,Europe/Tallinn,,,NOPE
    C-8,Erik,Andersson,erik@example.se,070-123 45 67,sv,Europe/Stockholm,,,,SE
    """


@pytest.fixture
def kesklinn_store(district_factory, store_factory):
    district = district_factory(name="Kesklinn", city="Tallinn")
    return store_factory(code="TLN-001", district=district)


def test_import_normalises_reports_bad_rows_by_line_and_imports_the_rest(kesklinn_store):
    report = customers_import_csv(file=_csv(GOOD_AND_BAD), region="EE")

    assert report.created == 3
    assert [(e.line, e.reason.split(":")[0]) for e in report.errors] == [
        (4, "an e-mail address or a phone number is required"),
        (5, "phone"),
        (6, "time_zone"),
        (7, "email"),
        (8, "store"),
    ]
    mari = Customer.objects.get(external_id="C-1")
    assert (mari.email, str(mari.phone)) == ("mari.tamm@example.ee", "+37251234567")
    assert mari.home_district.name == "Kesklinn" and mari.home_store == kesklinn_store
    assert str(Customer.objects.get(external_id="C-8").phone) == "+46701234567"
    assert not Customer.objects.filter(external_id__in=["C-3", "C-4", "C-5", "C-6", "C-7"]).exists()


def test_reimporting_the_same_file_changes_nothing(kesklinn_store):
    customers_import_csv(file=_csv(GOOD_AND_BAD), region="EE")
    before = list(Customer.objects.order_by("id").values())

    report = customers_import_csv(file=_csv(GOOD_AND_BAD), region="EE")

    assert (report.created, report.updated, report.unchanged) == (0, 0, 3)
    assert list(Customer.objects.order_by("id").values()) == before


def test_rows_match_existing_customers_by_email_or_phone_in_any_format(customer_factory):
    by_phone = customer_factory(email="", phone="+37251234567", external_id="", first_name="Old")
    by_email = customer_factory(email="anna@example.com", phone="", external_id="")
    data = """\
        first_name,email,phone,external_id
        New,,+372 5123 4567,
        ,ANNA@example.com,,CARD-9
        ,anna@example.com,,CARD-9
        """
    report = customers_import_csv(file=_csv(data), region="EE")

    assert (report.created, report.updated) == (0, 2)
    assert Customer.objects.count() == 2
    by_phone.refresh_from_db()
    by_email.refresh_from_db()
    assert by_phone.first_name == "New"
    assert by_email.external_id == "CARD-9"


def test_duplicate_rows_within_a_file_create_one_customer(db):
    data = """\
        email,phone,first_name
        liis@example.ee,5555 5555,Liis
        LIIS@example.ee,,
        ,+372 5555 5555,Liisu
        """
    report = customers_import_csv(file=_csv(data), region="EE")
    assert report.created == 1 and not report.errors
    assert Customer.objects.get().first_name == "Liisu"


def test_row_matching_two_different_customers_is_rejected_not_merged(customer_factory):
    customer_factory(email="a@example.com", phone="+37251111111")
    customer_factory(email="b@example.com", phone="+37252222222")
    report = customers_import_csv(file=_csv("email,phone\na@example.com,+37252222222\n"), region="EE")
    assert [e.line for e in report.errors] == [2]
    assert "different existing customers" in report.errors[0].reason
    assert set(Customer.objects.values_list("email", "phone")) == {
        ("a@example.com", "+37251111111"),
        ("b@example.com", "+37252222222"),
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "empty"), ("name,city\nA,B\n", "“email” or a “phone”"), ("email,shoe_size\na@example.com,42\n", "shoe_size")],
)
def test_unusable_file_is_refused_whole(db, text, message):
    with pytest.raises(ImportFileError, match=message):
        customers_import_csv(file=_csv(text))
    assert not Customer.objects.exists()


def test_command_reports_lines_and_exits_non_zero_on_rejected_rows(kesklinn_store, tmp_path, capsys):
    path = tmp_path / "customers.csv"
    path.write_text(textwrap.dedent(GOOD_AND_BAD).lstrip(), encoding="utf-8")

    with pytest.raises(CommandError, match="5 row"):
        call_command("import_customers", str(path), "--region", "EE")

    out, err = capsys.readouterr()
    assert "3 created" in out
    assert "line 5: phone:" in err
    assert Customer.objects.count() == 3


def test_command_dry_run_writes_nothing(db, tmp_path, capsys):
    path = tmp_path / "ok.csv"
    path.write_text("email\nnew@example.com\n", encoding="utf-8")
    call_command("import_customers", str(path), "--dry-run")
    assert "dry run: 1 created" in capsys.readouterr().out
    assert not Customer.objects.exists()


def test_command_missing_file_is_one_readable_error(db):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_customers", "/nonexistent.csv")
