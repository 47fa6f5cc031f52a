from django.db import migrations, models


def cap_topics(apps, schema_editor):
    """Greetings, gifts, thank-you letters and every marketing topic count against the weekly caps."""
    Topic = apps.get_model("notifications", "Topic")
    Topic.objects.filter(kind="marketing").update(counts_against_cap=True)
    Topic.objects.filter(code__in=["greeting", "gift", "thanks"]).update(counts_against_cap=True)


class Migration(migrations.Migration):
    dependencies = [("notifications", "0009_consent_scope")]

    operations = [
        migrations.RunPython(cap_topics, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='topic',
            name='counts_against_cap',
            field=models.BooleanField(default=True, help_text='Untick only for service messages the customer cannot do without (bonus, orders, opening hours)', verbose_name='counts against frequency caps'),
        ),
        migrations.AddConstraint(
            model_name='topic',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('kind', 'marketing'), _negated=True), ('counts_against_cap', True), _connector='OR'), name='notif_topic_marketing_capped', violation_error_message='Marketing topics always count against the weekly limits.'),
        ),
    ]
