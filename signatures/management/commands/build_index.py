from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from signatures.index import TOP_N, build_index
from signatures.models import Release


class Command(BaseCommand):
    help = "(Re)build a release's per-gene index: top signatures by CD, log2FC and rank per gene, type and direction."

    def add_arguments(self, parser):
        parser.add_argument("release")
        parser.add_argument("--top", type=int, default=TOP_N, help=f"List length per metric (default {TOP_N}).")

    def handle(self, *args, **opts):
        try:
            release = Release.objects.get(name=opts["release"])
        except Release.DoesNotExist:
            raise CommandError(f"Unknown release {opts['release']!r}.") from None
        try:
            n = build_index(release, k=opts["top"], progress=lambda it, desc: tqdm(it, desc=desc, file=self.stderr))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Release {release.name}: {n} index rows for {release.n_genes} genes.")
