from django.core.management.base import BaseCommand, CommandError

from signatures.compute import ComputeError, delete_release
from signatures.models import Release


class Command(BaseCommand):
    help = "Delete a release that is not active: its signatures, index rows and store files."

    def add_arguments(self, parser):
        parser.add_argument("release")

    def handle(self, *args, **opts):
        try:
            release = Release.objects.get(name=opts["release"])
            delete_release(release)
        except Release.DoesNotExist:
            raise CommandError(f"Unknown release {opts['release']!r}.") from None
        except ComputeError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Deleted release {opts['release']}.")
