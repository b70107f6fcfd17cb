"""The shared shape of a background job: our own table is the truth.

A job row records status, progress, error, log and timestamps. Workers claim a
job with a conditional UPDATE (only one wins), report progress per finished
chunk and beat a heartbeat so that a job whose worker died can be detected and
resumed from its last finished chunk.
"""

import contextlib
import logging
import threading
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, models, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as KombuOperationalError
from redis.exceptions import ConnectionError as RedisConnectionError, TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


# A running job whose heartbeat is older than this is considered orphaned.
STALE_AFTER = timedelta(minutes=10)

# Lost connections to the database or the broker: a task that meets one is
# retried with backoff (every chunk is idempotent). Any other error fails the
# job with its sentence.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, KombuOperationalError, RedisConnectionError, RedisTimeoutError)
RETRY_TRANSIENT = {
    "autoretry_for": TRANSIENT_ERRORS,
    "retry_backoff": 30,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 8,
}


class Job(models.Model):
    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0, help_text="Fraction done, 0 to 1.")
    chunks_total = models.PositiveIntegerField(default=0)
    chunks_done = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    log = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    cancel_requested = models.BooleanField(default=False)

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    # --- state changes; the admin, the API, commands and tasks all use these ---

    def claim(self, worker: str = "") -> bool:
        """Atomically move queued (or orphaned running) -> running. True if we won."""
        now = timezone.now()
        claimable = models.Q(status=JobStatus.QUEUED) | models.Q(status=JobStatus.RUNNING, heartbeat_at__lt=now - STALE_AFTER)
        won = type(self).objects.filter(claimable, pk=self.pk, cancel_requested=False).update(
            status=JobStatus.RUNNING, started_at=now, heartbeat_at=now, worker=worker[:200], error=""
        )
        if won:
            self.refresh_from_db()
        return bool(won)

    def beat(self, *, chunks_done: int | None = None, message: str | None = None) -> None:
        """Record liveness and progress; raises JobCancelled if an admin cancelled."""
        fields = {"heartbeat_at": timezone.now()}
        if chunks_done is not None:
            fields["chunks_done"] = chunks_done
            fields["progress"] = chunks_done / self.chunks_total if self.chunks_total else 0.0
        type(self).objects.filter(pk=self.pk).update(**fields)
        if message:
            self.append_log(message)
        self.refresh_from_db()
        if self.cancel_requested:
            raise JobCancelled(self)

    def append_log(self, message: str) -> None:
        stamp = timezone.now().strftime("%Y-%m-%d %H:%M:%S")
        with transaction.atomic():
            job = type(self).objects.select_for_update().get(pk=self.pk)
            job.log = (job.log + f"[{stamp}] {message}\n")[-100_000:]
            job.save(update_fields=["log"])
        self.log = job.log

    def finish(self) -> None:
        now = timezone.now()
        type(self).objects.filter(pk=self.pk).update(status=JobStatus.DONE, progress=1.0, finished_at=now, heartbeat_at=now)
        self.refresh_from_db()

    def fail(self, error: str) -> None:
        now = timezone.now()
        type(self).objects.filter(pk=self.pk).update(status=JobStatus.FAILED, error=error[:10_000], finished_at=now)
        self.refresh_from_db()

    def request_cancel(self) -> None:
        """Queued jobs are cancelled at once; running ones stop at their next chunk."""
        type(self).objects.filter(pk=self.pk).update(cancel_requested=True)
        type(self).objects.filter(pk=self.pk, status=JobStatus.QUEUED).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
        self.refresh_from_db()

    def mark_cancelled(self) -> None:
        type(self).objects.filter(pk=self.pk).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
        self.refresh_from_db()

    def requeue(self) -> bool:
        """Put a failed, cancelled or orphaned job back in the queue; finished chunks are kept.

        One conditional UPDATE: of two clicks (or an admin and a command) at
        once exactly one wins, so one job never goes to two workers. True if
        this call moved it.
        """
        resumable = models.Q(status__in=[JobStatus.FAILED, JobStatus.CANCELLED]) | models.Q(
            status=JobStatus.RUNNING, heartbeat_at__lt=timezone.now() - STALE_AFTER
        )
        won = type(self).objects.filter(resumable, pk=self.pk).update(
            status=JobStatus.QUEUED, cancel_requested=False, error="", finished_at=None
        )
        self.refresh_from_db()
        return bool(won)

    def enqueue(self) -> None:
        """Send this job's task after the current transaction commits (each job type names its task)."""
        raise NotImplementedError(f"{type(self).__name__} does not say which task runs it.")

    def on_resume(self) -> None:
        """Reset what this kind of job keeps beside the shared fields (inside resume's transaction)."""

    def resume(self, *, enqueue: bool = True) -> None:
        """Requeue a failed, cancelled or orphaned job and send it again; what it finished is kept.

        enqueue=False leaves it queued for the caller to run in-process (a command's --inline).
        """
        with transaction.atomic():
            if not self.requeue():
                raise JobStateError(self, "only failed, cancelled or orphaned jobs can be resumed")
            self.on_resume()
            if enqueue:
                self.enqueue()
        self.refresh_from_db()

    @property
    def is_live(self) -> bool:
        """Queued, or running with a fresh heartbeat: someone will still write its output."""
        return self.status == JobStatus.QUEUED or (self.status == JobStatus.RUNNING and not self.is_orphaned)

    @property
    def is_orphaned(self) -> bool:
        return self.status == JobStatus.RUNNING and (self.heartbeat_at is None or self.heartbeat_at < timezone.now() - STALE_AFTER)


def hand_back(queryset, **fields) -> None:
    """After a lost connection: give a claim back so the task's retry can take it at once.

    Best effort: when the database is still out of reach the claim stays, and
    the job is taken over once its heartbeat is older than STALE_AFTER.
    """
    try:
        queryset.update(**fields)
    except TRANSIENT_ERRORS as exc:
        log.warning("claim not handed back (%s); it lapses after %s", exc, STALE_AFTER)


@contextlib.contextmanager
def keep_alive(job: Job, *, every: float = 60.0):
    """Beat the job's heartbeat from a thread while a long step without chunks runs.

    Merging a release or building its index can take hours in one transaction,
    where the step's own updates are invisible to other processes; without a
    beat the job would look orphaned and could be resumed a second time. The
    thread has its own database connection, so its updates commit at once.
    """
    stop = threading.Event()

    def beat():
        try:
            while not stop.wait(every):
                try:
                    type(job).objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
                except DatabaseError as exc:  # e.g. SQLite locked by the step itself: try again next time
                    log.warning("heartbeat of %s %s not recorded: %s", type(job).__name__, job.pk, exc)
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{type(job).__name__}-{job.pk}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


class JobStateError(Exception):
    """An action that the job's present state does not allow (resume a running job, ...)."""

    def __init__(self, job, reason: str):
        beat = f", last heartbeat {job.heartbeat_at:%Y-%m-%d %H:%M:%S}" if job.status == JobStatus.RUNNING and job.heartbeat_at else ""
        super().__init__(f"{job} is {job.status}{beat}: {reason}.")
        self.job = job


class JobCancelled(Exception):
    def __init__(self, job):
        super().__init__(f"{type(job).__name__} {job.pk} was cancelled.")
        self.job = job
