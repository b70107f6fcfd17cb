from django.core.management.base import BaseCommand, CommandError

from signatures.models import Release


class Command(BaseCommand):
    help = "Make a complete, indexed release the one the search serves (one atomic switch)."

    def add_arguments(self, parser):
        parser.add_argument("release")

    def handle(self, *args, **opts):
        try:
            release = Release.objects.get(name=opts["release"])
        except Release.DoesNotExist:
            raise CommandError(f"Unknown release {opts['release']!r}.") from None
        previous = Release.active()
        try:
            release.activate()
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        was = f" (was {previous.name})" if previous and previous.pk != release.pk else ""
        self.stdout.write(f"Active release: {release.name}{was}.")
