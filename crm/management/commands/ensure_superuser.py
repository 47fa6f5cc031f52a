import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from config.settings.env import env


class Command(BaseCommand):
    help = (
        "Create the staff superuser for a local run if it does not exist. Credentials come from "
        "ADMIN_USERNAME / ADMIN_PASSWORD, or a password is generated, kept in var/admin-password "
        "and printed."
    )

    def handle(self, *args, **options):
        username = env("ADMIN_USERNAME", default="admin")
        password_file = settings.ADMIN_PASSWORD_FILE
        User = get_user_model()
        password = env("ADMIN_PASSWORD", default="")
        if not password and password_file.exists():
            password = password_file.read_text().strip()
        if not password:
            password = secrets.token_urlsafe(12)
        user = User.objects.filter(username=username).first()
        if user is None:
            User.objects.create_superuser(username=username, email="", password=password)
            password_file.parent.mkdir(parents=True, exist_ok=True)
            password_file.write_text(password + "\n")
            password_file.chmod(0o600)
        elif not user.check_password(password):
            self.stdout.write(f"Staff login: user “{username}” exists; its password was changed since it was created.")
            return
        port = env("WEB_PORT", default="8000")
        self.stdout.write(f"Staff login: http://localhost:{port}/admin/  user: {username}  password: {password}")
