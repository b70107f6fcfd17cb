"""List every background job and resume those whose worker died."""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from l1kweb.jobs import Job, JobStateError, JobStatus


def job_models():
    return [m for m in apps.get_models() if issubclass(m, Job)]


class Command(BaseCommand):
    help = (
        "List background jobs (training, conversion, signatures) with status, progress and heartbeat; "
        "--resume-orphaned requeues running jobs whose worker stopped beating (their finished chunks are kept)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Also list finished jobs (default: unfinished and failed only).")
        parser.add_argument("--resume-orphaned", action="store_true", help="Requeue every orphaned job.")

    def handle(self, *args, **opts):
        orphaned = []
        for model in job_models():
            jobs = model.objects.order_by("created_at")
            if not opts["all"]:
                jobs = jobs.exclude(status=JobStatus.DONE)
            for job in jobs:
                state = "orphaned" if job.is_orphaned else job.status
                beat = job.heartbeat_at.strftime("%Y-%m-%d %H:%M:%S") if job.heartbeat_at else "-"
                self.stdout.write(
                    f"{model.__name__:<15} {job.pk:>5}  {state:<9} {job.chunks_done:>5}/{job.chunks_total:<5} "
                    f"heartbeat {beat}  worker {job.worker or '-'}  {job}"
                )
                if job.is_orphaned:
                    orphaned.append(job)
        if not opts["resume_orphaned"]:
            if orphaned:
                self.stdout.write(f"{len(orphaned)} orphaned job(s); resume them with --resume-orphaned.")
            return
        for job in orphaned:
            try:
                job.resume()
            except JobStateError as exc:  # claimed or finished since it was listed
                raise CommandError(str(exc)) from None
            self.stdout.write(f"Resumed {type(job).__name__} {job.pk} from chunk {job.chunks_done}.")
        if not orphaned:
            self.stdout.write("No orphaned jobs.")
