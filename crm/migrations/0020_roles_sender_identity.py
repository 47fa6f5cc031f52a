"""Administrators get the new sender identities and offer states (the roles are synced again)."""

from django.db import migrations

from crm.roles import permissions_create, roles_sync


def staff_roles(apps, schema_editor):
    permissions_create(apps)
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0019_roles_tags"),
        ("notifications", "0031_sender_identity"),
    ]

    operations = [migrations.RunPython(staff_roles, migrations.RunPython.noop)]
