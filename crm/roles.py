"""Staff roles: the groups a data migration creates, each with the least it needs.

Each role is a ``django.contrib.auth`` group, named in English (a stable name: the label staff see
is the group's name, the code keys on it). The matrix below is the whole truth of what a role
may do; ``crm/migrations/0010_staff_roles.py`` applies it, and tests/test_admin_permissions.py
walks every admin URL as every role against it. Change it only with a new migration that calls
``roles_sync`` again.

| role                    | may                                                                      |
| ----------------------- | ------------------------------------------------------------------------ |
| customer service        | every store's customers (view, change), interactions, callbacks;         |
|                         | bonus accounts and ledger (view), adjust points, resolve disputes;       |
|                         | messages and "why (not)?" (cancel, send now, resend), preferences        |
|                         | (change), consent history,                                               |
|                         | suppressions (lift), inbound messages, delivery events; survey answers   |
| marketing               | segments; campaigns (launch, pause, resume, cancel, test-send, report);  |
|                         | topics, message templates, unsubscribe reasons and feedback;             |
|                         | surveys and their questions, results, CSV export, inviting a segment;    |
|                         | tiers and earning rules (view). No customer records                      |
| store manager           | their own store's customers only (crm.access: the customers whose home   |
|                         | store is the manager's StaffProfile store): view and change them, their  |
|                         | interactions and callbacks, their bonus accounts, ledger, disputes (view)|
| data protection officer | every customer (view), export and erase personal data, data requests,    |
|                         | the consent history, the audit trail (all view only)                     |
| administrator           | every permission there is when the roles are synced (users and groups    |
|                         | included), but is not a superuser: cannot make, see or change one        |

A staff user in no group, with no permission of their own, opens nothing in the admin.
"""

CUSTOMER_SERVICE = "customer service"
MARKETING = "marketing"
STORE_MANAGER = "store manager"
DATA_PROTECTION_OFFICER = "data protection officer"
ADMINISTRATOR = "administrator"

# Every permission there is.
EVERYTHING = "*"

ROLES: dict[str, frozenset[str] | str] = {
    CUSTOMER_SERVICE: frozenset(
        {
            "crm.view_customer",
            "crm.change_customer",
            "crm.view_all_customers",
            "crm.view_interaction",
            "crm.add_interaction",
            "crm.change_interaction",
            "crm.view_callback",
            "crm.add_callback",
            "crm.change_callback",
            "crm.view_store",
            "crm.view_district",
            "loyalty.view_bonusaccount",
            "loyalty.view_bonustransaction",
            "loyalty.adjust_points",
            "loyalty.view_dispute",
            "loyalty.change_dispute",
            "notifications.view_notification",
            "notifications.change_notification",
            "notifications.view_why",
            "notifications.view_preference",
            "notifications.change_preference",
            "notifications.view_consentevent",
            "notifications.view_contactsuppression",
            "notifications.delete_contactsuppression",
            "notifications.view_inboundmessage",
            "notifications.view_deliveryevent",
            "surveys.view_survey",
            "surveys.view_response",
        }
    ),
    MARKETING: frozenset(
        {
            "campaigns.view_segment",
            "campaigns.add_segment",
            "campaigns.change_segment",
            "campaigns.delete_segment",
            "campaigns.view_campaign",
            "campaigns.add_campaign",
            "campaigns.change_campaign",
            "campaigns.launch_campaign",
            "campaigns.view_report",
            "campaigns.test_send_campaign",
            "campaigns.view_campaigncontent",
            "campaigns.add_campaigncontent",
            "campaigns.change_campaigncontent",
            "campaigns.delete_campaigncontent",
            "crm.view_store",
            "crm.view_district",
            "loyalty.view_tier",
            "loyalty.view_earningrule",
            "notifications.view_topic",
            "notifications.add_topic",
            "notifications.change_topic",
            "notifications.view_messagetemplate",
            "notifications.add_messagetemplate",
            "notifications.change_messagetemplate",
            "notifications.view_unsubscribereason",
            "notifications.add_unsubscribereason",
            "notifications.change_unsubscribereason",
            "notifications.view_unsubscribefeedback",
            "notifications.announce_store",
            "notifications.view_holidaygreeting",
            "notifications.add_holidaygreeting",
            "notifications.change_holidaygreeting",
            "notifications.delete_holidaygreeting",
            "surveys.view_survey",
            "surveys.add_survey",
            "surveys.change_survey",
            "surveys.view_question",
            "surveys.add_question",
            "surveys.change_question",
            "surveys.delete_question",
            "surveys.view_results",
            "surveys.export_results",
            "surveys.invite_segment",
        }
    ),
    STORE_MANAGER: frozenset(
        {
            "crm.view_customer",
            "crm.change_customer",
            "crm.view_interaction",
            "crm.add_interaction",
            "crm.change_interaction",
            "crm.view_callback",
            "crm.add_callback",
            "crm.change_callback",
            "crm.view_store",
            "crm.view_district",
            "loyalty.view_bonusaccount",
            "loyalty.view_bonustransaction",
            "loyalty.view_dispute",
        }
    ),
    DATA_PROTECTION_OFFICER: frozenset(
        {
            "crm.view_customer",
            "crm.view_all_customers",
            "privacy.view_datarequest",
            "privacy.export_customer",
            "privacy.erase_customer",
            "notifications.view_consentevent",
            "audit.view_auditentry",
        }
    ),
    ADMINISTRATOR: EVERYTHING,
}


def roles_sync(apps, *, strict: bool = False) -> None:
    """Create the groups and give each exactly its permissions (run again, it changes nothing).

    ``apps`` is an app registry: a migration's, or the live one after all migrations ran. A
    group's permissions are set, not added to: a right added to a role by hand is taken back by
    the next sync, so the matrix above stays the truth.

    A migration sees the permissions of its moment: one the matrix names that an app adds later
    is left out there (``strict=False``), and granted by the sync that runs after every
    ``migrate`` (``roles_sync_after_migrate``), which is strict: a permission named here that
    does not exist at all stops it (a typo grants nothing silently).
    """
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    everything = permission_model.objects.select_related("content_type")
    by_name = {f"{p.content_type.app_label}.{p.codename}": p for p in everything}
    for name, wanted in ROLES.items():
        if wanted == EVERYTHING:
            permissions = list(by_name.values())
        else:
            missing = sorted(wanted - by_name.keys())
            if missing and strict:
                raise LookupError(f"Role {name!r} names permissions that do not exist: {missing}")
            permissions = [by_name[codename] for codename in sorted(wanted - set(missing))]
        group, _created = group_model.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def roles_sync_after_migrate(sender, app_config=None, apps=None, using="default", **kwargs) -> None:
    """post_migrate (sent once per app; acts on crm's): the roles, as the matrix says, now.

    The content types and permissions of every app are made first (Django would make the other
    apps' later in the same round), so a role that names a new model's permission gets it the
    first ``migrate`` after the model appears, without a migration of its own.
    """
    from django.apps import apps as live_apps

    if sender.label != "crm":
        return
    permissions_create(live_apps)
    roles_sync(live_apps, strict=True)


def permissions_create(apps) -> None:
    """The content types and permissions of every app, made now: Django makes them only after
    all migrations ran (post_migrate), and the roles need them on a fresh database."""
    from django.contrib.auth.management import create_permissions
    from django.contrib.contenttypes.management import create_contenttypes

    for app_config in apps.get_app_configs():
        # A migration's app configs have no models module: Django's functions skip those.
        models_module = getattr(app_config, "models_module", None)
        app_config.models_module = models_module or True
        try:
            create_contenttypes(app_config, verbosity=0, apps=apps)
            create_permissions(app_config, verbosity=0, apps=apps)
        finally:
            app_config.models_module = models_module
