"""Every admin URL, as every staff role, as a staff member with no permission, and as nobody.

The URLs are read from the admin site's own URLconf (each ModelAdmin's included), so a page added
later is walked too; a path parameter is filled with a real object's key. What each URL needs is
data here (``NEEDS``, the rule for Django's own pages and ``NEVER``), and what each role may is
read from its group's actual permissions in the database, as the migration left them: a URL a
role may open answers 200, any other 403 (an app's index: 404, as Django answers there).
"""

import datetime

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, reverse
from django.utils import timezone
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    IntervalSchedule,
    PeriodicTask,
    SolarSchedule,
)

from audit.models import AuditEntry
from campaigns.models import Campaign, Segment
from crm import roles
from crm.models import Customer, StaffProfile, Tag
from loyalty.models import BonusAccount, Dispute, EarningRule, PosLockout, Tier
from notifications.models import LetterBatch, MessageTemplate, OfferState, SenderIdentity, Topic
from privacy.models import DataRequest
from tests.loyalty.factories import make_pos_key
from tests.privacy.conftest import _person

# Pages of the admin itself that every signed-in staff member may open by design (their own
# password, the JavaScript catalogue), and those with no page to walk without parameters.
ANY_STAFF = {"password_change", "password_change_done", "jsi18n"}
NOT_WALKED = {"login", "logout", "view_on_site", "autocomplete"}

# The custom pages: each needs every one of its groups of permissions (any one of a group).
NEEDS: dict[str, tuple[frozenset[str], ...]] = {
    # The customer's timeline: each kind of entry further needs its own view permission (crm.timeline).
    "crm_customer_timeline": (frozenset({"crm.view_customer", "crm.change_customer"}),),
    # The dashboard: every staff role holds one of these; each panel further needs its own permission.
    "dashboard": (frozenset({"crm.view_customer", "crm.view_store"}),),
    "loyalty_liability": (frozenset({"loyalty.view_liability"}),),
    "campaigns_segment_count": (frozenset({"campaigns.view_segment", "campaigns.change_segment"}),),
    "loyalty_bonusaccount_adjust": (frozenset({"loyalty.adjust_points"}),),
    "notifications_why": (frozenset({"notifications.view_why"}),),
    "notifications_announce": (frozenset({"notifications.announce_store"}),),
    "notifications_email_outbox": (frozenset({"notifications.view_sent_email"}),),
    "notifications_letterbatch_pdf": (frozenset({"notifications.print_letterbatch"}),),
    "notifications_template_preview": (
        frozenset({"notifications.view_messagetemplate", "notifications.change_messagetemplate"}),
        frozenset({"crm.view_customer"}),
    ),
    "surveys_survey_results": (frozenset({"surveys.view_results"}),),
    "surveys_survey_export": (frozenset({"surveys.export_results"}),),
    "surveys_survey_districts": (frozenset({"surveys.view_results"}),),
    "surveys_survey_districts_export": (frozenset({"surveys.export_results"}),),
    "surveys_survey_invite": (frozenset({"surveys.invite_segment"}),),
    "campaigns_campaign_forecast": (frozenset({"campaigns.view_campaign"}),),
    # Progress and the controls: reading needs view; each control (a POST) needs launch_campaign.
    "campaigns_campaign_control": (frozenset({"campaigns.view_campaign"}),),
    "campaigns_campaign_report": (frozenset({"campaigns.view_report"}),),
    "campaigns_campaign_test_send": (frozenset({"campaigns.test_send_campaign"}),),
    "privacy_customer_data": (frozenset({"privacy.export_customer"}),),
    "privacy_customer_data_json": (frozenset({"privacy.export_customer"}),),
    # Import and export (crm.admin_transfer): an import's two steps need the same.
    **{
        f"crm_customer_{step}": (
            frozenset({"crm.add_customer"}),
            frozenset({"crm.change_customer"}),
            frozenset({"crm.view_all_customers"}),
        )
        for step in ("import", "process_import")
    },
    "crm_customer_export": (
        frozenset({"privacy.export_customer"}),
        frozenset({"crm.view_customer", "crm.change_customer"}),
    ),
    **{
        f"crm_store_{step}": (frozenset({"crm.add_store"}), frozenset({"crm.change_store"}))
        for step in ("import", "process_import")
    },
    "crm_store_export": (frozenset({"crm.view_store", "crm.change_store"}),),
    **{
        f"loyalty_bonustransaction_{step}": (
            frozenset({"loyalty.adjust_points"}),
            frozenset({"loyalty.view_bonustransaction"}),
        )
        for step in ("import", "process_import")
    },
}
# Pages that only take a POST: walked with a GET, those who may are told 405 (and the others 403).
POST_ONLY = {"crm_customer_process_import", "crm_store_process_import", "loyalty_bonustransaction_process_import"}

# Django's pages that nobody opens, superusers included: evidence is never added, changed or
# deleted by hand, customers are erased rather than deleted, rows made by the system are not added.
NEVER = {
    "audit_auditentry_add",
    "axes_accessattempt_add",
    "axes_accesslog_add",
    "axes_accessfailurelog_add",
    "loyalty_poslockout_add",
    "audit_auditentry_delete",
    "crm_customer_delete",
    "loyalty_bonusaccount_add",
    "loyalty_bonusaccount_delete",
    "loyalty_bonustransaction_add",
    "loyalty_bonustransaction_delete",
    "loyalty_dispute_add",
    "notifications_consentevent_add",
    "notifications_consentevent_delete",
    "notifications_notification_add",
    "notifications_notification_delete",
    "notifications_deliveryevent_add",
    "notifications_deliveryevent_delete",
    "notifications_contactsuppression_add",
    "notifications_inboundmessage_add",
    "notifications_inboundmessage_delete",
    "notifications_letterbatch_add",
    "notifications_unsubscribefeedback_add",
    "notifications_unsubscribefeedback_delete",
    "privacy_datarequest_add",
    "privacy_datarequest_delete",
}

# Admin actions beyond "delete selected" (which needs the model's delete permission, never where
# deleting is never offered): each with the permissions it needs.
ACTIONS: dict[tuple[str, str], frozenset[str]] = {
    ("crm.customer", "erase_customers"): frozenset({"privacy.erase_customer"}),
    ("loyalty.dispute", "mark_confirmed"): frozenset({"loyalty.change_dispute"}),
    ("loyalty.dispute", "mark_rejected"): frozenset({"loyalty.change_dispute"}),
    ("notifications.letterbatch", "mark_posted"): frozenset({"notifications.change_letterbatch"}),
    ("axes.accessattempt", "cleanup_expired_attempts"): frozenset({"axes.delete_accessattempt"}),
    **{
        ("notifications.notification", name): frozenset({"notifications.change_notification"})
        for name in ("cancel_queued", "send_now", "resend_failed")
    },
    **{
        ("django_celery_beat.periodictask", name): frozenset({"django_celery_beat.change_periodictask"})
        for name in ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")
    },
}

NOBODY = "staff with no permission"
SUPERUSER = "superuser"
WHO = [*roles.ROLES, NOBODY, SUPERUSER]


def _walk(patterns, model_admin=None):
    """(URL name, its parameters' names, the ModelAdmin it belongs to) of every named admin URL."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            prefix = str(pattern.pattern)
            owner = next(
                (
                    ma
                    for m, ma in admin.site._registry.items()
                    if prefix == f"{m._meta.app_label}/{m._meta.model_name}/"
                ),
                model_admin,
            )
            yield from _walk(pattern.url_patterns, owner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            route = pattern.pattern
            names = list(getattr(route, "converters", {}) or route.regex.groupindex)
            yield pattern.name, names, model_admin


def admin_urls() -> list[tuple[str, list[str], object]]:
    return list(_walk(admin.site.get_urls()))


def _perms_of(user) -> set[str] | None:
    """The user's permissions as ``app.codename`` (None: all of them)."""
    return None if user.is_superuser else set(user.get_all_permissions())


def _has_all(perms: set[str] | None, needs: tuple[frozenset[str], ...]) -> bool:
    return perms is None or all(perms & group for group in needs)


def _model_needs(model_admin, suffix: str) -> tuple[frozenset[str], ...]:
    opts = model_admin.model._meta
    perm = f"{opts.app_label}.%s_{opts.model_name}"
    if suffix == "add":
        return (frozenset({perm % "add"}),)
    if suffix == "delete":
        return (frozenset({perm % "delete"}),)
    return (frozenset({perm % "view", perm % "change"}),)  # changelist, change (read-only), history


def expected(name: str, model_admin, user) -> bool:
    """May ``user`` open the URL named ``name``, by the data above and the user's permissions?"""
    perms = _perms_of(user)
    if name in ANY_STAFF or name == "index":
        return True
    if name in NEVER:
        return False
    if name in NEEDS:
        return _has_all(perms, NEEDS[name])
    suffix = name.rpartition("_")[2]
    assert model_admin is not None and suffix in {"changelist", "add", "change", "history", "delete"}, (
        f"{name}: a new admin URL; say what it needs in NEEDS or NEVER"
    )
    if name == "auth_user_password_change":
        return _has_all(perms, (frozenset({"auth.change_user"}),))
    return _has_all(perms, _model_needs(model_admin, suffix))


def listed(model_admin, user) -> bool:
    """Does the admin list the model for ``user`` (any of its pages open)?"""
    perms = _perms_of(user)
    return any(_has_all(perms, _model_needs(model_admin, op)) for op in ("changelist", "add", "delete"))


def app_may(app_label: str, user) -> bool:
    return any(listed(ma, user) for m, ma in admin.site._registry.items() if m._meta.app_label == app_label)


@pytest.fixture
def world(customer_factory, store_factory, district_factory, admin_user):
    """One row of every model the admin lists, about one customer of one store."""
    store = store_factory()
    person = _person(
        customer_factory,
        store,
        district_factory(),
        admin_user,
        tag="pm",
        first="Pille",
        last="Mets",
        phone="+37255500011",
    )
    customer = person.customer
    everyone = Segment.objects.create(name="Everyone", rules={})
    Campaign.objects.create(
        name="Spring",
        topic=Topic.objects.get(code="new-products"),
        segment=everyone,
        deadline=timezone.now() + datetime.timedelta(days=3),
    )
    Tag.objects.get_or_create(name="walk")
    make_pos_key(store)
    PosLockout.objects.create(ip="203.0.113.9", failures=20, locked_until=timezone.now())
    AccessAttempt.objects.create(username="guess", ip_address="203.0.113.9", failures_since_start=5)
    AccessLog.objects.create(username="pille", ip_address="203.0.113.10")
    AccessFailureLog.objects.create(username="guess", ip_address="203.0.113.9")
    Tier.objects.get_or_create(code="base", defaults={"name": "Base", "min_spend": 0, "earn_rate": 1})
    EarningRule.objects.create(name="Double", multiplier=2)
    LetterBatch.objects.create(day=datetime.date(2026, 1, 5))
    SenderIdentity.objects.create(
        country="EE",
        sender_name="Corner Shop",
        sms_sender_id="CornerShop",
        from_email="hello@cornershop.example",
        contact_email="support@cornershop.example",
        support_phone="+372 600 0000",
        postal_optout_address="Pikk 1, Tallinn",
    )
    OfferState.objects.create(key="boots", price="59.90")
    DataRequest.objects.create(customer=customer, kind="export_json", source="admin", staff=admin_user)
    AuditEntry.objects.create(actor=admin_user, actor_username="admin", action="change", object_type="crm.customer")
    interval = IntervalSchedule.objects.create(every=10, period=IntervalSchedule.SECONDS)
    CrontabSchedule.objects.get_or_create(minute="5")
    SolarSchedule.objects.get_or_create(event="sunset", latitude=59.43, longitude=24.75)
    ClockedSchedule.objects.create(clocked_time=timezone.now())
    PeriodicTask.objects.get_or_create(name="walk", defaults={"task": "walk", "interval": interval})
    assert MessageTemplate.objects.exists()

    users = {SUPERUSER: admin_user}
    for name in roles.ROLES:
        user = User.objects.create_user(name.replace(" ", "-"), password="x", is_staff=True)
        user.groups.add(Group.objects.get(name=name))
        users[name] = user
    users[NOBODY] = User.objects.create_user("nobody", password="x", is_staff=True)
    StaffProfile.objects.create(user=users[roles.STORE_MANAGER], store=store)
    return {"customer": customer, "users": users}


def _object_of(model_admin, world):
    model = model_admin.model
    if model is User:
        return world["users"][NOBODY]  # a superuser's account is out of an administrator's reach
    if model is Customer:
        return world["customer"]
    found = model._default_manager.order_by("pk").first()
    assert found is not None, f"the walk needs a {model._meta.label} to open"
    return found


def _url(name: str, params: list[str], model_admin, world) -> list[str]:
    if name == "app_list":
        return [reverse("admin:app_list", kwargs={"app_label": label}) for label in _app_labels()]
    kwargs = {}
    for param in params:
        if param == "customer_id":
            kwargs[param] = world["customer"].pk
        else:
            kwargs[param] = _object_of(model_admin, world).pk
    return [reverse(f"admin:{name}", kwargs=kwargs)]


def _app_labels() -> list[str]:
    return sorted({m._meta.app_label for m in admin.site._registry})


def test_the_walk_sees_every_custom_page():
    names = {name for name, _params, _ma in admin_urls()}
    assert set(NEEDS) <= names  # none renamed away
    assert {"crm_customer_changelist", "app_list", "index", "auth_user_password_change"} <= names


def test_roles_hold_exactly_the_matrix(db):
    """The groups in the database are what crm.roles says (the data migration applied it)."""
    everything = {f"{p.content_type.app_label}.{p.codename}" for p in Permission.objects.select_related("content_type")}
    for name, wanted in roles.ROLES.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
        assert held == (everything if wanted == roles.EVERYTHING else wanted), name


@pytest.mark.parametrize("who", WHO)
def test_every_admin_url_answers_by_the_roles_permissions(client, world, who):
    user = world["users"][who]
    client.force_login(user)
    wrong = []
    walked = 0
    for name, params, model_admin in admin_urls():
        if name in NOT_WALKED:
            continue
        for url in _url(name, params, model_admin, world):
            if name == "app_list":
                label = url.rstrip("/").rpartition("/")[2]
                may, refused = app_may(label, user), 404
            else:
                may, refused = expected(name, model_admin, user), 403
            status = client.get(url).status_code
            walked += 1
            if status != ((405 if name in POST_ONLY else 200) if may else refused):
                wrong.append((url, status, "may" if may else "may not"))
    assert wrong == []
    assert walked > 150


def test_every_admin_url_sends_a_stranger_to_the_login_page(client, world):
    for name, params, model_admin in admin_urls():
        if name in NOT_WALKED or name == "jsi18n":
            continue
        for url in _url(name, params, model_admin, world):
            response = client.get(url)
            assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.parametrize("who", WHO)
def test_every_admin_action_is_offered_by_the_roles_permissions(world, who):
    user = world["users"][who]
    perms = _perms_of(user)
    request = RequestFactory().get("/admin/")
    request.user = user
    for model, model_admin in admin.site._registry.items():
        offered = set(model_admin.get_actions(request))
        label = model._meta.label_lower
        for _func, name, _description in model_admin._get_base_actions():
            if name == "delete_selected":
                delete_page = f"{model._meta.app_label}_{model._meta.model_name}_delete"
                may = delete_page not in NEVER and _has_all(perms, _model_needs(model_admin, "delete"))
            else:
                assert (label, name) in ACTIONS, f"{label}.{name}: a new action; say what it needs in ACTIONS"
                may = _has_all(perms, (ACTIONS[label, name],))
            assert (name in offered) == may, (who, label, name)


@pytest.mark.parametrize("who", WHO)
def test_the_actions_a_role_is_offered_run_and_the_others_do_nothing(client, world, who):
    user = world["users"][who]
    perms = _perms_of(user)
    client.force_login(user)
    dispute = Dispute.objects.get()
    response = client.post(
        reverse("admin:loyalty_dispute_changelist"),
        {"action": "mark_confirmed", "_selected_action": [dispute.pk], "index": 0},
    )
    dispute.refresh_from_db()
    if _has_all(perms, (frozenset({"loyalty.change_dispute"}),)):
        assert response.status_code == 302 and dispute.status == Dispute.Status.CONFIRMED
        assert AuditEntry.objects.filter(action="resolve", object_id=str(dispute.pk), actor=user).exists()
    else:  # refused: the changelist again, a redirect to it, or 403 without the right to see it
        assert response.status_code in (200, 302, 403) and dispute.status == Dispute.Status.OPEN

    customer = world["customer"]
    response = client.post(
        reverse("admin:crm_customer_changelist"),
        {"action": "erase_customers", "_selected_action": [customer.pk], "index": 0},
    )
    if _has_all(perms, (frozenset({"privacy.erase_customer"}),)):
        assert response.status_code == 200 and "admin/privacy/erase_confirm.html" in _templates(response)
    else:
        assert response.status_code in (200, 302, 403) and "admin/privacy/erase_confirm.html" not in _templates(
            response
        )
    customer.refresh_from_db()
    assert customer.erased_at is None  # nobody confirmed


def _templates(response) -> list[str]:
    return [t.name for t in getattr(response, "templates", [])]


def test_a_staff_member_with_no_permission_sees_an_empty_admin(client, world):
    client.force_login(world["users"][NOBODY])
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert response.context["app_list"] == []
    page = response.content.decode()
    for label in _app_labels():
        assert f'href="/admin/{label}/' not in page


@pytest.mark.parametrize("who", [*roles.ROLES])
def test_the_index_lists_only_what_the_role_may_open(client, world, who):
    user = world["users"][who]
    client.force_login(user)
    shown = {
        (app["app_label"], model["object_name"].lower())
        for app in client.get(reverse("admin:index")).context["app_list"]
        for model in app["models"]
    }
    may = {(m._meta.app_label, m._meta.model_name) for m, ma in admin.site._registry.items() if listed(ma, user)}
    assert shown == may


def test_links_to_custom_pages_show_only_to_those_who_may_open_them(client, world):
    users, customer = world["users"], world["customer"]
    account = BonusAccount.objects.get(customer=customer)
    why = reverse("admin:notifications_why", args=[customer.pk])
    adjust = reverse("admin:loyalty_bonusaccount_adjust", args=[account.pk])
    liability = reverse("admin:loyalty_liability")
    export = reverse("admin:surveys_survey_export", args=[1]).replace("/1/", "/")

    client.force_login(users[roles.CUSTOMER_SERVICE])
    assert why in client.get(reverse("admin:crm_customer_change", args=[customer.pk])).content.decode()
    assert adjust in client.get(reverse("admin:loyalty_bonusaccount_change", args=[account.pk])).content.decode()
    assert liability not in client.get(reverse("admin:loyalty_bonusaccount_changelist")).content.decode()
    assert "export.csv" not in client.get(reverse("admin:surveys_survey_changelist")).content.decode()

    client.force_login(users[roles.STORE_MANAGER])
    assert why not in client.get(reverse("admin:crm_customer_change", args=[customer.pk])).content.decode()
    assert adjust not in client.get(reverse("admin:loyalty_bonusaccount_change", args=[account.pk])).content.decode()

    client.force_login(users[roles.MARKETING])
    assert "export.csv" in client.get(reverse("admin:surveys_survey_changelist")).content.decode()
    assert export


def test_a_store_manager_sees_only_their_stores_customers(client, world, customer_factory, store_factory):
    manager = world["users"][roles.STORE_MANAGER]
    ours = world["customer"]
    theirs = customer_factory(home_store=store_factory())
    BonusAccount.objects.create(customer=theirs)
    client.force_login(manager)

    listed = client.get(reverse("admin:crm_customer_changelist")).context["cl"].result_list
    assert list(listed) == [ours]
    assert client.get(reverse("admin:crm_customer_change", args=[ours.pk])).status_code == 200
    other = client.get(reverse("admin:crm_customer_change", args=[theirs.pk]))
    assert other.status_code == 302 and other["Location"] == reverse("admin:index")
    accounts = client.get(reverse("admin:loyalty_bonusaccount_changelist")).context["cl"].result_list
    assert [a.customer_id for a in accounts] == [ours.pk]
    theirs_account = BonusAccount.objects.get(customer=theirs)
    assert client.get(reverse("admin:loyalty_bonusaccount_change", args=[theirs_account.pk])).status_code == 302
    found = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "crm", "model_name": "interaction", "field_name": "customer", "term": theirs.email[:4]},
    )
    assert found.status_code == 200 and found.json()["results"] == []

    # Without a store, a store manager sees nobody.
    StaffProfile.objects.filter(user=manager).update(store=None)
    assert list(client.get(reverse("admin:crm_customer_changelist")).context["cl"].result_list) == []


def test_an_administrator_cannot_become_or_touch_a_superuser(client, world, admin_user):
    administrator = world["users"][roles.ADMINISTRATOR]
    client.force_login(administrator)
    assert client.get(reverse("admin:auth_user_change", args=[admin_user.pk])).status_code == 302
    page = client.get(reverse("admin:auth_user_change", args=[administrator.pk]))
    assert page.status_code == 200 and "is_superuser" not in page.context["adminform"].form.fields
    client.post(
        reverse("admin:auth_user_change", args=[administrator.pk]),
        {"username": administrator.username, "is_superuser": "on", "is_staff": "on", "is_active": "on"},
    )
    administrator.refresh_from_db()
    assert not administrator.is_superuser


def test_syncing_the_roles_again_changes_nothing_and_a_misspelt_permission_stops_it(db, monkeypatch):
    from django.apps import apps

    def held():
        return {g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()}

    before = held()
    roles.permissions_create(apps)
    roles.roles_sync(apps)
    assert held() == before and len(before) == len(roles.ROLES)

    monkeypatch.setitem(roles.ROLES, roles.MARKETING, frozenset({"surveys.export_resluts", "surveys.view_survey"}))
    with pytest.raises(LookupError, match="export_resluts"):
        roles.roles_sync(apps, strict=True)
    # The one that runs after every migrate is the strict one.
    with pytest.raises(LookupError, match="export_resluts"):
        roles.roles_sync_after_migrate(sender=apps.get_app_config("crm"))
    # A migration's sync grants what exists at its moment and leaves the rest to that one.
    roles.roles_sync(apps)
    marketing = Group.objects.get(name=roles.MARKETING)
    assert list(marketing.permissions.values_list("codename", flat=True)) == ["view_survey"]
