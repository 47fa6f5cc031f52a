"""The administrator role takes the new tag permissions (crm.*_tag); the other roles are unchanged."""

from django.db import migrations

from crm.roles import permissions_create, roles_sync


def staff_roles(apps, schema_editor):
    permissions_create(apps)
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0018_customer_tags"),
        ("notifications", "0019_staff_cancel_reason"),
    ]

    operations = [migrations.RunPython(staff_roles, migrations.RunPython.noop)]
