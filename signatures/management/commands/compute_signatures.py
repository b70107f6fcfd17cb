from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from conversion.models import Dataset
from l1kweb.celery import app as celery_app
from l1kweb.jobs import JobStateError
from signatures import compute
from signatures.batches import CONTROL_MODES, DEFAULT_CONTROLS
from signatures.models import Release, Signature


class Command(BaseCommand):
    help = (
        "Compute a new release of signatures (CD and log2FC per treatment group and batch) from a registered "
        "dataset, then its per-gene index. Prints the new release's name. With a broker the work is queued on "
        "the `signatures` queue; without one (or with --inline) it runs here with a progress bar."
    )

    def add_arguments(self, parser):
        parser.add_argument("dataset", help="Name of a registered dataset (RNA-seq-like or L1000 Level 3).")
        parser.add_argument("--controls", choices=list(CONTROL_MODES), default=DEFAULT_CONTROLS, help="auto (default): vehicle controls where a batch has at least AUTO_MIN_VEHICLES of them, else all; all: every profile of the batch but the perturbagen's own and its target gene's; vehicle: only ctl_vehicle/ctl_vector profiles.")
        parser.add_argument("--min-replicates", type=int, default=2, help="Smallest treatment group computed (default 2; 1 for single-plate data).")
        parser.add_argument("--gamma", type=float, default=1.0, help="CD shrinkage, 1 = none (default).")
        parser.add_argument("--release", default=None, help="Name of the new release (default: <dataset>-<timestamp>).")
        parser.add_argument("--inline", action="store_true", help="Run every batch in this process even when a broker is configured.")
        parser.add_argument("--resume", metavar="RELEASE", help="Resume the failed or killed job of RELEASE instead of starting a new one.")

    def handle(self, *args, **opts):
        inline = opts["inline"] or celery_app.conf.task_always_eager  # no broker: run here
        try:
            if opts["resume"]:
                release = Release.objects.get(name=opts["resume"])
                compute.resume_job(release.job, enqueue=not inline)
            else:
                try:
                    dataset = Dataset.objects.get(name=opts["dataset"])
                except Dataset.DoesNotExist:
                    known = ", ".join(Dataset.objects.values_list("name", flat=True)[:20]) or "none"
                    raise CommandError(f"Unknown dataset {opts['dataset']!r}; registered datasets: {known}.") from None
                release = compute.start_release(
                    dataset, controls=opts["controls"], min_replicates=opts["min_replicates"], gamma=opts["gamma"], name=opts["release"], enqueue=not inline
                )
        except (compute.ComputeError, JobStateError, Release.DoesNotExist) as exc:
            raise CommandError(str(exc)) from None
        if not inline:
            self.stdout.write(release.name)
            self.stderr.write(f"Queued on the signatures queue; follow job {release.job.pk} in the admin.")
            return
        job = release.job
        try:
            result = compute.run_job(job.pk, progress=lambda it, desc: tqdm(it, desc=desc, file=self.stderr))
        except Exception:
            job.refresh_from_db()
            raise CommandError(f"Release {release.name} failed and the active release is unchanged: {job.error}. Resume with --resume {release.name}.") from None
        if result.get("claimed") is False:
            raise CommandError(f"Signature job {job.pk} is already claimed by {job.worker or 'another worker'}.")
        job.refresh_from_db()
        release.refresh_from_db()
        if job.status != "done":
            raise CommandError(f"Release {release.name}: job {job.status}. {job.error}")
        types = ", ".join(f"{t} {n}" for t, n in _counts(release))
        self.stderr.write(f"{release.n_signatures} signatures x {release.n_genes} genes ({types}); index built. Activate with: manage.py activate_release {release.name}")
        self.stdout.write(release.name)


def _counts(release):
    from django.db.models import Count

    return Signature.objects.filter(release=release).values_list("pert_type").annotate(n=Count("pk")).order_by("pert_type")
