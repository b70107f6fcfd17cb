"""Write (again) a release's signature table and README and hash its downloadable files (files.json)."""

from django.core.management.base import BaseCommand, CommandError

from signatures.models import Release, ReleaseStatus
from signatures.release_files import write_release_files


class Command(BaseCommand):
    help = "Write RELEASE's signatures.tsv and README.txt beside its stores and list every downloadable file with size and SHA-256 in files.json."

    def add_arguments(self, parser):
        parser.add_argument("release")

    def handle(self, *args, release, **options):
        found = Release.objects.filter(name=release).select_related("dataset").first()
        if found is None:
            raise CommandError(f"No release named {release!r}.")
        if found.status != ReleaseStatus.COMPLETE:
            raise CommandError(f"Release {release} is {found.status}; its files are listed once it is complete.")
        try:
            files = write_release_files(found)
        except OSError as exc:
            raise CommandError(f"Release {release}: {exc}") from exc
        for f in files:
            self.stdout.write(f"{f.sha256}  {f.size:>14,}  {f.name}")
