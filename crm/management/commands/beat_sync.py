from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask


class Command(BaseCommand):
    help = (
        "Create the beat jobs listed in settings.BEAT_JOBS that do not exist yet. Existing jobs keep "
        "what staff set in the admin (interval, enabled); running it again changes nothing."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        created = 0
        for name, job in settings.BEAT_JOBS.items():
            if PeriodicTask.objects.filter(name=name).exists():
                continue
            interval, _ = IntervalSchedule.objects.get_or_create(
                every=job["every_seconds"], period=IntervalSchedule.SECONDS
            )
            PeriodicTask.objects.create(
                name=name, task=job["task"], interval=interval, description=job.get("description", "")
            )
            created += 1
        self.stdout.write(f"beat jobs: {created} created, {len(settings.BEAT_JOBS) - created} already present")
