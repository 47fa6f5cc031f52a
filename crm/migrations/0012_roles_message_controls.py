"""Customer service may cancel, send now and resend messages (notifications.change_notification)."""

from django.db import migrations

from crm.roles import permissions_create, roles_sync


def staff_roles(apps, schema_editor):
    permissions_create(apps)
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0011_segment_rules_help_rolling_year"),
        ("notifications", "0019_staff_cancel_reason"),
    ]

    operations = [migrations.RunPython(staff_roles, migrations.RunPython.noop)]
