"""The staff roles (crm.roles): groups with the least each needs, created or brought back to the matrix."""

from django.db import migrations

from crm.roles import permissions_create, roles_sync


def staff_roles(apps, schema_editor):
    permissions_create(apps)
    roles_sync(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("crm", "0009_staff_profile_and_store_scope"),
        ("audit", "0001_audit_entries"),
        ("loyalty", "0006_staff_permissions"),
        ("notifications", "0018_staff_permissions"),
        ("surveys", "0003_staff_permissions"),
        ("privacy", "0001_data_requests"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("sessions", "0001_initial"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(staff_roles, migrations.RunPython.noop)]
