"""The audit trail: what staff did in the admin, with the values before and after; nothing else."""

import json

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from audit.models import AuditEntry
from campaigns.models import Segment
from crm import roles
from loyalty.models import BonusAccount
from privacy.erasure import customer_erase
from privacy.registry import ERASED
from surveys.models import Survey
from tests.loyalty.factories import purchase


def staff_in(client, role: str) -> User:
    user = User.objects.create_user(role.replace(" ", "-"), password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=role))
    client.force_login(user)
    return user


def _change_form_data(page) -> dict:
    """What the change page would post back unchanged: every field's initial value, empty inlines."""
    form = page.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None or value is False:
            continue
        if isinstance(value, list):  # many-to-many (tags): each chosen object's key
            data[name] = [str(getattr(v, "pk", v)) for v in value]
            continue
        data[name] = str(value)
    for inline in page.context["inline_admin_formsets"]:
        prefix = inline.formset.prefix
        data |= {f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"}
    return data


def test_a_customer_changed_in_the_admin_is_kept_with_before_and_after(client, customer, store_factory):
    user = staff_in(client, roles.CUSTOMER_SERVICE)
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    data = _change_form_data(client.get(url))
    old_email = customer.email
    new_store = store_factory()
    data |= {"email": "new.address@example.org", "home_store": str(new_store.pk)}
    response = client.post(url, data, REMOTE_ADDR="192.0.2.10")
    assert response.status_code == 302, response.context["adminform"].form.errors

    entry = AuditEntry.objects.get()
    assert (entry.actor, entry.actor_username, entry.action) == (user, user.username, AuditEntry.Action.CHANGE)
    assert (entry.object_type, entry.object_id, entry.ip) == ("crm.customer", str(customer.pk), "192.0.2.10")
    assert entry.changes == {"email": [old_email, "new.address@example.org"], "home_store": [None, new_store.pk]}


def test_saving_a_customer_unchanged_records_nothing(staff_client, customer):
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    assert staff_client.post(url, _change_form_data(staff_client.get(url))).status_code == 302
    assert not AuditEntry.objects.exists()


def test_a_segment_added_changed_and_deleted(staff_client, admin_user):
    def rows(*languages):
        return {
            "name": "Tallinn",
            "rule-TOTAL_FORMS": "1",
            "rule-INITIAL_FORMS": "0",
            "rule-0-group": "A",
            "rule-0-kind": "language",
            "rule-0-languages": list(languages),
        }

    response = staff_client.post(reverse("admin:campaigns_segment_add"), rows("et"))
    assert response.status_code == 302
    segment = Segment.objects.get()
    assert (
        staff_client.post(reverse("admin:campaigns_segment_change", args=[segment.pk]), rows("et", "ru")).status_code
        == 302
    )
    staff_client.post(reverse("admin:campaigns_segment_delete", args=[segment.pk]), {"post": "yes"})
    added, changed, deleted = AuditEntry.objects.order_by("id")
    assert (added.action, added.changes["name"], added.changes["rules"]) == (
        "add",
        [None, "Tallinn"],
        [None, {"languages": ["et"]}],
    )
    assert changed.changes == {"rules": [{"languages": ["et"]}, {"languages": ["et", "ru"]}]}
    assert (deleted.action, deleted.object_id, deleted.object_repr) == ("delete", str(segment.pk), "Tallinn")


def test_a_points_adjustment_is_kept_with_the_balance_before_and_after(client, customer, store_factory):
    purchase(customer, store=store_factory(), amount="50")
    account = BonusAccount.objects.get(customer=customer)
    staff_in(client, roles.CUSTOMER_SERVICE)
    url = reverse("admin:loyalty_bonusaccount_adjust", args=[account.pk])
    assert client.post(url, {"points": "-20", "reason": "double scan"}).status_code == 302
    entry = AuditEntry.objects.get()
    assert entry.action == AuditEntry.Action.ADJUST_POINTS and entry.object_id == str(account.pk)
    assert entry.changes["balance"] == [account.balance, account.balance - 20]
    assert entry.changes["points"] == [None, -20] and entry.changes["reason"] == [None, "double scan"]


def test_exports_and_invitations_are_kept(client, customer):
    survey = Survey.objects.create(slug="votes", kind=Survey.Kind.FEEDBACK, title="Vote")
    segment = Segment.objects.create(name="All", rules={})
    user = staff_in(client, roles.MARKETING)
    assert client.get(reverse("admin:surveys_survey_export", args=[survey.pk])).status_code == 200
    assert (
        client.post(reverse("admin:surveys_survey_invite", args=[survey.pk]), {"segment": segment.pk}).status_code
        == 302
    )

    officer = staff_in(client, roles.DATA_PROTECTION_OFFICER)
    assert client.get(reverse("admin:privacy_customer_data_json", args=[customer.pk])).status_code == 200

    kept = list(AuditEntry.objects.order_by("id").values_list("actor", "action", "object_type", "object_id"))
    assert kept == [
        (user.pk, "export", "surveys.survey", str(survey.pk)),
        (user.pk, "invite", "surveys.survey", str(survey.pk)),
        (officer.pk, "export", "crm.customer", str(customer.pk)),
    ]
    invite = AuditEntry.objects.get(action="invite")
    assert invite.changes["segment"][1]["name"] == "All" and invite.changes["planned"] == [None, 1]


def test_the_trail_is_read_only_and_only_for_the_officer_and_administrators(client, admin_user):
    entry = AuditEntry.objects.create(actor=admin_user, actor_username="admin", action="change", object_type="x")
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    for role in (roles.DATA_PROTECTION_OFFICER, roles.ADMINISTRATOR):
        staff_in(client, role)
        assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 200
        page = client.get(change)
        assert page.status_code == 200 and not page.context["has_change_permission"]
        assert client.post(change, {"action": "delete", "object_type": "y"}).status_code == 403
        assert (
            client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
        )
        assert client.get(reverse("admin:audit_auditentry_add")).status_code == 403
        client.logout()
        User.objects.filter(is_superuser=False).delete()
    entry.refresh_from_db()
    assert entry.object_type == "x"
    for role in (roles.CUSTOMER_SERVICE, roles.MARKETING, roles.STORE_MANAGER):
        staff_in(client, role)
        assert client.get(reverse("admin:audit_auditentry_changelist")).status_code == 403
        User.objects.filter(is_superuser=False).delete()


def test_system_writes_are_not_audited(customer, store_factory):
    """The POS purchase, the hot path, neither writes nor reads the trail: not one query more."""
    store = store_factory()
    purchase(customer, store=store, amount="10")
    with CaptureQueriesContext(connection) as captured:
        purchase(customer, store=store, amount="20")
    assert captured.captured_queries and not [q for q in captured.captured_queries if "audit_" in q["sql"]]
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize("field", ["email", "first_name"])
def test_erasure_takes_the_values_out_of_the_trail(client, customer, admin_user, field):
    staff_in(client, roles.CUSTOMER_SERVICE)
    url = reverse("admin:crm_customer_change", args=[customer.pk])
    before = getattr(customer, field)
    data = _change_form_data(client.get(url)) | {field: "kept.secret@example.org"}
    assert client.post(url, data).status_code == 302
    customer_erase(customer=customer, staff=admin_user, reason="asked")
    entry = AuditEntry.objects.get(action="change")
    assert entry.changes == {field: [ERASED, ERASED]}
    dumped = json.dumps(list(AuditEntry.objects.values()), default=str)
    assert "kept.secret" not in dumped and (not before or before not in dumped)
