from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from accounts.tokens import issue_token, parse_lifetime


class Command(BaseCommand):
    help = "Create an API token for USERNAME and print it once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What the token is for, e.g. 'agent web-1'.")
        parser.add_argument(
            "--expires-in",
            default=None,
            metavar="LIFETIME",
            help="Refuse the token after this long: 30m, 12h, 90d or 52w. Default: never.",
        )

    def handle(self, username, name, expires_in, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user named {username!r}.") from None
        if not user.is_active:
            raise CommandError(f"User {username!r} is inactive; a token for it would not work.")
        if len(name) > 100:
            raise CommandError("--name is limited to 100 characters.")
        expires_at = None
        if expires_in is not None:
            try:
                expires_at = timezone.now() + parse_lifetime(expires_in)
            except ValueError as error:
                raise CommandError(f"--expires-in: {error}") from None
        token, key = issue_token(user, name=name, expires_at=expires_at)
        until = f" It expires at {expires_at:%Y-%m-%d %H:%M} UTC." if expires_at else ""
        self.stderr.write(f"Token {token.prefix} created for {username}.{until} It is shown once; store it now.")
        self.stdout.write(key)
