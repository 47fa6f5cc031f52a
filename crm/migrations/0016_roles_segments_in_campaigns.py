"""Marketing's segment permissions are campaigns' now (campaigns/0001 moved the content type)."""

from django.db import migrations

from crm.roles import permissions_create, roles_sync


def staff_roles(apps, schema_editor):
    permissions_create(apps)
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0015_segment_moved_to_campaigns"),
        ("campaigns", "0001_segments_from_crm"),
    ]

    operations = [migrations.RunPython(staff_roles, migrations.RunPython.noop)]
