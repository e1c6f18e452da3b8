"""python manage.py api_token USERNAME [--rotate | --revoke]: the user's REST API token."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from rest_framework.authtoken.models import Token

from archive.access import curated_collections


class Command(BaseCommand):
    help = (
        "Print the REST API token of a user, creating it if there is none. The key alone goes to standard "
        "output (for scripts); what it allows goes to standard error. Send it as 'Authorization: Token <key>'. "
        "A token acts as its user: it reads what the user may see and writes only where the user is a curator."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("username", help="The user the token acts as.")
        change = parser.add_mutually_exclusive_group()
        change.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the token with a new one; the old key stops working at once.",
        )
        change.add_argument(
            "--revoke",
            action="store_true",
            help="Delete the token; requests with it are refused from now on (a later run makes a new one).",
        )

    def handle(self, *args, username: str, rotate: bool, revoke: bool, **options) -> None:
        User = get_user_model()
        try:
            user = User.objects.get(**{User.USERNAME_FIELD: username})
        except User.DoesNotExist as missing:
            raise CommandError(
                f"No user {username!r}. Create the account first (admin, or manage.py createsuperuser)."
            ) from missing
        if revoke:
            deleted, _ = Token.objects.filter(user=user).delete()
            self.stderr.write(f"Token of {username} revoked." if deleted else f"{username} had no token.")
            return
        if not user.is_active:
            raise CommandError(f"{username} is inactive: an inactive user's token is refused, so none is made.")
        with transaction.atomic():
            if rotate:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
        self.stdout.write(token.key)
        if options["verbosity"]:
            self.stderr.write(self._describe(user, "new token" if created else "existing token"))

    def _describe(self, user, which: str) -> str:
        slugs = list(curated_collections(user).order_by("slug").values_list("slug", flat=True))
        if user.is_staff:
            scope = "staff: reads everything and may write to every collection"
        elif slugs:
            scope = "may create objects and upload files in: " + ", ".join(slugs)
        else:
            scope = "read-only: not a curator of any collection"
        return f"{which.capitalize()} of {user.get_username()} ({scope})."
