import io
import textwrap

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
        ,+372 5555 5555,Liis
        """
    report = customers_import_csv(file=_csv(data), region="EE")
    assert (report.created, report.updated, report.unchanged, report.errors) == (1, 0, 2, [])
    assert Customer.objects.get().first_name == "Liis"


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


# --- identifiers are never overwritten; every count is truthful -------------------------------


def _snapshot() -> list[dict]:
    return list(Customer.objects.order_by("id").values())


@pytest.mark.parametrize(("column", "value"), [("email", "anna@example.com"), ("phone", "+372 5123 4567")])
def test_row_matched_by_email_or_phone_never_overwrites_the_loyalty_card(customer_factory, column, value):
    customer_factory(external_id="CARD-1", email="anna@example.com", phone="+37251234567", first_name="Anna")
    before = _snapshot()

    report = customers_import_csv(file=_csv(f"{column},external_id,first_name\n{value},CARD-9,Hanna\n"), region="EE")

    [error] = report.errors
    assert error.line == 2
    assert "external_id" in error.reason and "CARD-9" in error.reason
    assert "customer CARD-1" in error.reason and f"matched by {column}" in error.reason
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert _snapshot() == before  # not even the first name of a rejected row is written


def test_row_matched_by_external_id_never_replaces_a_set_email_or_phone(customer_factory):
    customer_factory(external_id="CARD-1", email="anna@example.com", phone="+37251234567", first_name="Anna")
    before = _snapshot()
    data = """\
        external_id,email,phone,first_name
        CARD-1,new@example.com,,Hanna
        CARD-1,,+372 5999 9999,Hanna
        """

    report = customers_import_csv(file=_csv(data), region="EE")

    assert [(e.line, e.reason.split(" ")[0]) for e in report.errors] == [(2, "email"), (3, "phone")]
    assert all("customer CARD-1" in e.reason and "matched by external_id" in e.reason for e in report.errors)
    assert _snapshot() == before


def test_conflict_names_a_customer_without_external_id_by_masked_contact(customer_factory):
    customer_factory(external_id="", email="anna@example.com", phone="+37251234567")
    customer_factory(external_id="", email="", phone="+37252222222")
    before = _snapshot()
    data = """\
        email,phone
        other@example.com,+372 5123 4567
        anna@example.com,+372 5222 2222
        """

    report = customers_import_csv(file=_csv(data), region="EE")

    first, second = report.errors
    assert first.line == 2 and first.reason.startswith("email")
    assert "customer a***@example.com" in first.reason and "matched by phone" in first.reason
    assert second.line == 3 and "different existing customers" in second.reason
    assert "email: customer a***@example.com" in second.reason and "phone: customer +372******22" in second.reason
    for error in report.errors:
        assert "anna@" not in error.reason and "+37251234567" not in error.reason and "+37252222222" not in error.reason
    assert _snapshot() == before


def test_row_pointing_at_two_customers_names_each_identifier_and_customer(customer_factory):
    customer_factory(external_id="CARD-A", email="a@example.com")
    customer_factory(external_id="CARD-B", phone="+37252222222")
    customer_factory(external_id="CARD-C", email="c@example.com")

    report = customers_import_csv(file=_csv("external_id,email,phone\nCARD-C,a@example.com,+37252222222\n"))

    [error] = report.errors
    assert "different existing customers" in error.reason
    assert "external_id: customer CARD-C" in error.reason
    assert "email: customer CARD-A" in error.reason and "phone: customer CARD-B" in error.reason


def test_blank_identifiers_are_filled_and_reported_as_one_update(customer_factory):
    customer = customer_factory(external_id="", email="anna@example.com", phone="")
    data = """\
        email,external_id,phone
        anna@example.com,CARD-9,
        anna@example.com,,+372 5123 4567
        anna@example.com,CARD-9,+372 5123 4567
        """

    report = customers_import_csv(file=_csv(data), region="EE")

    assert (report.created, report.updated, report.unchanged, report.errors) == (0, 2, 1, [])
    customer.refresh_from_db()
    assert (customer.external_id, str(customer.phone)) == ("CARD-9", "+37251234567")


def test_identical_repeated_row_is_unchanged_and_a_rerun_changes_nothing(customer_factory):
    customer = customer_factory(email="anna@example.com", first_name="Anna")
    data = """\
        email,first_name
        anna@example.com,Hanna
        ANNA@example.com,Hanna
        """

    first = customers_import_csv(file=_csv(data))
    after_first = _snapshot()
    second = customers_import_csv(file=_csv(data))

    assert (first.created, first.updated, first.unchanged, first.errors) == (0, 1, 1, [])
    assert (second.created, second.updated, second.unchanged, second.errors) == (0, 0, 2, [])
    assert _snapshot() == after_first
    customer.refresh_from_db()
    assert customer.first_name == "Hanna"


def test_later_row_contradicting_an_earlier_one_for_the_same_customer_is_rejected(customer_factory):
    customer = customer_factory(email="anna@example.com", external_id="", first_name="Anna")
    data = """\
        email,phone,first_name,external_id
        anna@example.com,,Hanna,CARD-1
        anna@example.com,,Johanna,
        anna@example.com,,,CARD-2
        new@example.com,+372 5555 5555,Liis,
        ,+372 5555 5555,Liisu,
        """

    first = customers_import_csv(file=_csv(data), region="EE")
    after_first = _snapshot()
    second = customers_import_csv(file=_csv(data), region="EE")

    assert (first.created, first.updated, first.unchanged) == (1, 1, 0)
    assert [(e.line, e.reason.split(" ")[0]) for e in first.errors] == [
        (3, "first_name"),
        (4, "external_id"),
        (6, "first_name"),
    ]
    assert "line 2" in first.errors[0].reason and "line 2" in first.errors[1].reason
    assert "line 5" in first.errors[2].reason
    customer.refresh_from_db()
    assert (customer.first_name, customer.external_id) == ("Hanna", "CARD-1")
    assert Customer.objects.get(email="new@example.com").first_name == "Liis"
    # The re-run: the good rows change nothing, the contradicting rows are rejected again.
    assert (second.created, second.updated, second.unchanged) == (0, 0, 2)
    assert [e.line for e in second.errors] == [3, 4, 6]
    assert _snapshot() == after_first


def _mixed_file(rows: int) -> str:
    """Rows for new, changed, unchanged and conflicting customers, in turn."""
    lines = ["external_id,email,phone,first_name"]
    for n in range(rows):
        kind = n % 4
        if kind == 0:
            lines.append(f"NEW-{n},new{n}@example.com,,New")
        elif kind == 1:
            lines.append(f",old{n}@example.com,,Changed")
        elif kind == 2:
            lines.append(f"OLD-{n},old{n}@example.com,,Same")
        else:
            lines.append(f"WRONG-{n},old{n}@example.com,,Same")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("dry_run", [True, False])
def test_fifty_rows_are_counted_truthfully_with_a_constant_number_of_queries(
    customer_factory, django_assert_max_num_queries, dry_run
):
    for n in range(50):
        if n % 4:
            customer_factory(external_id=f"OLD-{n}", email=f"old{n}@example.com", first_name="Same")
    before = _snapshot()

    with django_assert_max_num_queries(5 if dry_run else 9):
        report = customers_import_csv(file=_csv(_mixed_file(50)), dry_run=dry_run)

    assert (report.created, report.updated, report.unchanged) == (13, 13, 12)
    assert [e.line for e in report.errors] == [n + 2 for n in range(50) if n % 4 == 3]
    assert all("customer OLD-" in e.reason for e in report.errors)
    if dry_run:
        assert _snapshot() == before
    else:
        assert Customer.objects.filter(first_name="Changed").count() == 13
        assert not Customer.objects.filter(external_id__startswith="WRONG-").exists()
        rerun = customers_import_csv(file=_csv(_mixed_file(50)))
        assert (rerun.created, rerun.updated, rerun.unchanged, len(rerun.errors)) == (0, 0, 38, 12)


def test_command_prints_one_line_per_conflicting_row_and_exits_non_zero(customer_factory, tmp_path, capsys):
    customer_factory(external_id="CARD-1", email="anna@example.com")
    path = tmp_path / "customers.csv"
    path.write_text(
        'email,external_id,district\nanna@example.com,CARD-9,\nanna@example.com,CARD-1,\nb@example.com,,"Kesk\nlinn"\n',
        encoding="utf-8",
    )

    with pytest.raises(CommandError, match="2 row"):
        call_command("import_customers", str(path))

    out, err = capsys.readouterr()
    assert "0 created, 0 updated, 1 unchanged, 2 rejected" in out
    lines = err.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("line 2: external_id") and "customer CARD-1" in lines[0]
    assert lines[1].startswith("line 4: district")


_ROW = st.tuples(
    st.sampled_from(["", "CARD-A", "CARD-B", "CARD-N"]),
    st.sampled_from(["", "a@example.com", "b@example.com", "n@example.com"]),
    st.sampled_from(["", "+37251000001", "+37251000003", "+37251000009"]),
    st.sampled_from(["", "Mari", "Liis"]),
)


@pytest.mark.django_db
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_ROW, min_size=1, max_size=8))
def test_any_file_dry_runs_truthfully_never_replaces_identifiers_and_reruns_as_unchanged(rows):
    Customer.objects.all().delete()
    # Plain rows, not factories: the property needs exactly these identifiers and blanks.
    Customer.objects.create(external_id="CARD-A", email="a@example.com", phone="+37251000001", first_name="Ann")
    Customer.objects.create(email="b@example.com")
    Customer.objects.create(phone="+37251000003", first_name="Cid")
    identifiers_before = {
        row.pop("pk"): {name: str(value) for name, value in row.items() if str(value)}
        for row in Customer.objects.values("pk", "external_id", "email", "phone")
    }
    text = "external_id,email,phone,first_name\n" + "".join(",".join(row) + "\n" for row in rows)
    before = _snapshot()

    dry = customers_import_csv(file=_csv(text), dry_run=True)
    assert _snapshot() == before
    real = customers_import_csv(file=_csv(text))
    after = _snapshot()
    rerun = customers_import_csv(file=_csv(text))

    assert dry == real
    assert real.created + real.updated + real.unchanged + len(real.errors) == len(rows)
    assert len(after) - len(before) == real.created
    for row in Customer.objects.filter(pk__in=identifiers_before).values("pk", "external_id", "email", "phone"):
        identifiers = identifiers_before[row["pk"]]
        assert {name: str(row[name]) for name in identifiers} == identifiers
    assert (rerun.created, rerun.updated) == (0, 0)
    assert [e.line for e in rerun.errors] == [e.line for e in real.errors]
    assert _snapshot() == after
