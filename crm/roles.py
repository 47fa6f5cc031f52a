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


def roles_sync(apps, connection=None) -> None:
    """Create the groups and give each exactly its permissions (run again, it changes nothing).

    ``apps`` is a migration's app registry. A group's permissions are set, not added to: a right
    added to a role by hand is taken back by the next sync, so the matrix above stays the truth.
    A permission named here that does not exist stops the migration (a typo grants nothing silently),
    unless its app still has migrations to apply: the matrix is today's, and an older migration
    that syncs it on a fresh database runs before the models (and permissions) of a later app or
    a later migration exist. The roles migration that comes with them grants them then.
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
            if missing:
                migrating = _apps_still_migrating(connection)
                missing = [codename for codename in missing if codename.partition(".")[0] not in migrating]
            if missing:
                raise LookupError(f"Role {name!r} names permissions that do not exist: {missing}")
            permissions = [by_name[codename] for codename in sorted(wanted) if codename in by_name]
        group, _created = group_model.objects.get_or_create(name=name)
        group.permissions.set(permissions)


def _apps_still_migrating(connection=None) -> set[str]:
    """The apps with a migration on disk that the database has not applied yet."""
    from django.db import connection as default_connection
    from django.db.migrations.loader import MigrationLoader

    loader = MigrationLoader(connection or default_connection)
    return {app for app, name in loader.graph.leaf_nodes() if (app, name) not in loader.applied_migrations}


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
