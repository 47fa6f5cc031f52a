from django.core.management.base import BaseCommand, CommandError

from crm.models import Store
from loyalty.models import PosApiKey, hash_api_key


class Command(BaseCommand):
    help = "Create an API key for a store's POS and print it once (only its hash is stored)."

    def add_arguments(self, parser):
        parser.add_argument("store_code")
        parser.add_argument("--name", default="", help="e.g. till 3")

    def handle(self, *args, store_code: str, name: str, **options):
        store = Store.objects.filter(code=store_code).first()
        if store is None:
            raise CommandError(f"no store with code {store_code!r}")
        raw = PosApiKey.generate()
        PosApiKey.objects.create(store=store, name=name, prefix=raw[:12], key_hash=hash_api_key(raw))
        self.stdout.write(raw)
