from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.tokens import issue_token


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'agent web-1'.")

    def handle(self, username, name, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; a token for it would not work.")
        if len(name) > 100:
            raise CommandError("--name is limited to 100 characters.")
        token, key = issue_token(user, name=name)
        self.stderr.write(f"Token {token.prefix} created for {username}. It is shown once; store it now.")
        self.stdout.write(key)
