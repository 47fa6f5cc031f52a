from django.core.management.base import BaseCommand

from notifications.defaults import install_translations
from notifications.models import MessageTemplate, Topic


class Command(BaseCommand):
    help = (
        "Create the built-in message templates in every language the compiled catalogues now translate "
        "(after `make messages` and a translator's pass); rows that exist, staff's edits included, stay."
    )

    def handle(self, *args, **options):
        created = install_translations(Topic, MessageTemplate)
        self.stdout.write(f"{created} message templates created")
