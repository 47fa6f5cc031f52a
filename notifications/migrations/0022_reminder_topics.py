from django.db import migrations


def install(apps, schema_editor):
    from notifications.defaults import install as install_defaults

    install_defaults(apps.get_model("notifications", "Topic"), apps.get_model("notifications", "MessageTemplate"))


class Migration(migrations.Migration):
    dependencies = [("notifications", "0021_behaviour_topics")]

    operations = [migrations.RunPython(install, migrations.RunPython.noop)]
