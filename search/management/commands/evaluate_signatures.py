"""Score a release's signatures against known target sets (search.evaluation): summary, HTML report, TSV table."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from search.evaluation import SUMMARY_COLUMNS, EvaluationError, evaluate, summary_rows, text_table, unresolved_text, write_outputs
from signatures.models import Release, ReleaseStatus
from signatures.store import StoreError


def find_release(name_or_id: str) -> Release:
    """A complete release by name, or by its numeric id."""
    release = Release.objects.filter(name=name_or_id).first()
    if release is None and name_or_id.isdigit():
        release = Release.objects.filter(pk=int(name_or_id)).first()
    if release is None:
        known = ", ".join(Release.objects.values_list("name", flat=True)[:20]) or "none"
        raise CommandError(f"Unknown release {name_or_id!r}; releases: {known}.")
    if release.status != ReleaseStatus.COMPLETE:
        raise CommandError(f"Release {release.name} is {release.status}; only a complete release can be evaluated.")
    return release


class Command(BaseCommand):
    help = (
        "For each GMT term naming a perturbagen (its pert_id, name or target gene: STAT3 for STAT3 knockouts), where the term's genes rank in "
        "each of its signatures: enrichment score, Mann-Whitney z and p, a bridge plot per term (self-contained HTML) and a TSV table; "
        "with --compare, the same in a second release, signatures matched by sig_id, and the ranks of the genes only one release holds."
    )

    def add_arguments(self, parser):
        parser.add_argument("release", help="Release name or id.")
        parser.add_argument("--sets", required=True, metavar="GMT", help="GMT file: term<TAB>description<TAB>gene...; a description starting 'up' or 'down' declares the direction.")
        parser.add_argument("--compare", metavar="OTHER", help="A second release (name or id), e.g. one computed from the L1000 profiles themselves.")
        parser.add_argument("--out", metavar="HTML", help="The report (default: evaluation-<release>.html in the current directory).")
        parser.add_argument("--tsv", metavar="TSV", help="One row per term, release and signature (default: evaluation-<release>.tsv).")

    def handle(self, *args, release, sets, compare, out, tsv, **options):
        main = find_release(release)
        other = find_release(compare) if compare else None
        if other is not None and other.pk == main.pk:
            raise CommandError(f"--compare names release {main.name} itself; give a second release.")
        html_path = Path(out or f"evaluation-{main.name}.html")
        tsv_path = Path(tsv or f"evaluation-{main.name}.tsv")
        if html_path.resolve() == tsv_path.resolve():
            raise CommandError(f"--out and --tsv both name {html_path}; give two files.")
        for path in (html_path, tsv_path):
            if not path.parent.is_dir():
                raise CommandError(f"Cannot write {path}: the directory {path.parent} does not exist.")
        try:
            evaluation = evaluate(main, sets, compare=other)
        except EvaluationError as exc:
            raise CommandError(str(exc)) from None
        except StoreError as exc:
            raise CommandError(f"A signature store cannot be read: {exc}") from None
        self.stdout.write(text_table(SUMMARY_COLUMNS, summary_rows(evaluation)))
        if evaluation.unmatched_terms:
            shown = ", ".join(evaluation.unmatched_terms[:10]) + (f" and {len(evaluation.unmatched_terms) - 10} more" if len(evaluation.unmatched_terms) > 10 else "")
            self.stdout.write(f"{len(evaluation.unmatched_terms)} terms name no perturbagen of the releases: {shown}.")
        for t in evaluation.terms:
            for rt in t.releases:
                if rt.unresolved:
                    self.stdout.write(f"{t.set.term} in {rt.release.name}: {unresolved_text(rt)}")
                if rt.note:
                    self.stdout.write(f"{t.set.term}: {rt.note}.")
        try:
            write_outputs(evaluation, html_path=html_path, tsv_path=tsv_path)
        except OSError as exc:
            raise CommandError(f"Cannot write the report: {exc}") from None
        self.stdout.write(f"Report: {html_path}\nTable:  {tsv_path}")
