"""Marketing runs campaigns: add, change, launch (pause, resume, cancel), test-send and see their reports."""

from django.db import migrations

from crm.roles import permissions_create, roles_sync


def staff_roles(apps, schema_editor):
    permissions_create(apps)
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0016_roles_segments_in_campaigns"),
        ("campaigns", "0002_campaigns"),
    ]

    operations = [migrations.RunPython(staff_roles, migrations.RunPython.noop)]
