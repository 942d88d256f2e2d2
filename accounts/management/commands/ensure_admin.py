import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create the user 'admin' with a random password, only if no superuser exists."

    def handle(self, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("A superuser exists; no admin created.")
            return
        if users.filter(username="admin").exists():
            self.stdout.write("A user named 'admin' exists but is not a superuser; create one with createsuperuser.")
            return
        password = secrets.token_urlsafe(12)
        users.create_superuser("admin", email="", password=password)
        bar = "=" * 60
        self.stdout.write(
            f"{bar}\nCreated the first console user.\n  username: admin\n  password: {password}\n"
            f"This password is shown once. Change it at /admin/password_change/.\n{bar}"
        )
