from django.conf import settings
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from l1kweb.bulk import analyze
from l1kweb.jobs import Job


class PertType(models.TextChoices):
    """Perturbation types by the names the search and API use (L1000 pert_type in brackets)."""

    CRISPR = "crispr", "CRISPR knockout"  # trt_xpr
    CHEMICAL = "chemical", "Chemical"  # trt_cp
    SHRNA = "shrna", "shRNA knockdown"  # trt_sh, trt_sh.cgs
    OVEREXPRESSION = "overexpression", "Overexpression"  # trt_oe
    LIGAND = "ligand", "Ligand"  # trt_lig
    OTHER = "other", "Other"


class ReleaseStatus(models.TextChoices):
    BUILDING = "building", "Building"
    COMPLETE = "complete", "Complete"
    FAILED = "failed", "Failed"


class Release(models.Model):
    """One computation of signatures and their per-gene index; the search serves the active one."""

    name = models.SlugField(max_length=100, unique=True)
    dataset = models.ForeignKey("conversion.Dataset", on_delete=models.PROTECT, related_name="releases")
    status = models.CharField(max_length=16, choices=ReleaseStatus.choices, default=ReleaseStatus.BUILDING)
    is_active = models.BooleanField(default=False)
    params = models.JSONField(default=dict, blank=True)
    directory = models.CharField(max_length=500, help_text="Signature stores; relative paths are under DATA_DIR.")
    model_version = models.CharField(max_length=150, blank=True)
    n_signatures = models.PositiveIntegerField(default=0)
    n_genes = models.PositiveIntegerField(default=0)
    index_built = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    activated_at = models.DateTimeField(null=True, blank=True)
    reliability = models.JSONField(
        default=dict, blank=True,
        help_text="Where the per-gene reliability (GeneReliability) came from: the model's paired evaluation "
        "(paired set, number of samples, when), copied when the release was merged; empty when the model had none.",
    )
    conversion = models.JSONField(default=dict, blank=True, help_text="How its profiles were converted: device, compute precision, stored dtype.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_release"),
        ]

    def __str__(self):
        return self.name

    @property
    def store_dir(self):
        """The directory of this release's signature stores."""
        from l1kweb.paths import resolve_data_path

        return resolve_data_path(self.directory)

    def check_files(self) -> None:
        """The stores on disk are complete and hold exactly this release's signatures."""
        from signatures.store import StoreError, open_store

        try:
            with open_store(self.store_dir) as store:
                stored = store.n_signatures
        except (StoreError, OSError) as exc:
            raise ValueError(f"Release {self.name}: its signature stores cannot be read ({exc}).") from None
        rows = self.signatures.count()
        if not stored == rows == self.n_signatures:
            raise ValueError(f"Release {self.name}: the stores hold {stored} signatures, the database {rows} and the release record {self.n_signatures}; recompute it.")

    @property
    def cache_stamp(self) -> str:
        """Part of every cache key of what this release serves: it changes when the release is
        rebuilt under the same id (completed again) or activated again."""
        times = (self.completed_at, self.activated_at)
        return f"{self.pk}:" + ":".join(str(int(t.timestamp() * 1e6)) if t else "-" for t in times)

    @classmethod
    def active(cls):
        return cls.objects.filter(is_active=True).select_related("dataset").first()

    def activate(self) -> None:
        """The one atomic switch: only a complete release with its index is ever served."""
        if self.status != ReleaseStatus.COMPLETE or not self.index_built:
            raise ValueError(f"Release {self.name} is {self.status} (index built: {self.index_built}); only a complete release with its index can be activated.")
        self.check_files()
        analyze(Signature, GeneTopEntry)  # the release's rows came by COPY: plan its first queries on current statistics
        try:
            with transaction.atomic():
                # Lock the release row first so a concurrent delete or recompute waits,
                # and re-check completeness in the switching UPDATE itself.
                list(Release.objects.select_for_update().filter(pk=self.pk))
                Release.objects.select_for_update().filter(is_active=True).exclude(pk=self.pk).update(is_active=False)
                switched = Release.objects.filter(pk=self.pk, status=ReleaseStatus.COMPLETE, index_built=True).update(
                    is_active=True, activated_at=timezone.now()
                )
                if not switched:
                    raise ValueError(f"Release {self.name} changed while it was being activated; it is no longer complete with its index.")
        except IntegrityError:
            raise ValueError(f"Another release was activated at the same moment as {self.name}; the active release is unchanged, try again.") from None
        self.refresh_from_db()


class CellLine(models.Model):
    name = models.CharField(max_length=100, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Signature(models.Model):
    """One treatment group's signature; its values live in the release's stores at `column`."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="signatures")
    sig_id = models.CharField(max_length=200)
    column = models.PositiveIntegerField(help_text="Position in the release's signature stores.")
    pert_type = models.CharField(max_length=20, choices=PertType.choices)
    pert_id = models.CharField(max_length=100)
    pert_name = models.CharField(max_length=200)
    cell_line = models.ForeignKey(CellLine, on_delete=models.PROTECT, related_name="signatures")
    dose = models.FloatField(null=True, blank=True)
    dose_unit = models.CharField(max_length=20, blank=True)
    time = models.FloatField(null=True, blank=True)
    time_unit = models.CharField(max_length=20, blank=True)
    batch = models.CharField(max_length=100)
    n_replicates = models.PositiveIntegerField()
    n_controls = models.PositiveIntegerField()
    controls = models.CharField(max_length=10, default="all", help_text="The controls it was computed against: all (other profiles of its batch) or vehicle.")
    target_gene = models.CharField(max_length=50, blank=True, help_text="Genetic perturbations: the symbol of the gene the reagent is aimed at.")
    pert_targets = models.CharField(max_length=500, blank=True, help_text="Compounds: known targets, |-separated.")
    pert_moa = models.CharField(max_length=500, blank=True, help_text="Compounds: mechanisms of action, |-separated.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release", "sig_id"], name="signature_release_sig_id_unique"),
            models.UniqueConstraint(fields=["release", "column"], name="signature_release_column_unique"),
        ]
        indexes = [
            # search.query filtered queries: signatures of one type (and cell lines) in the active release.
            models.Index(fields=["release", "pert_type", "cell_line"], name="signature_filter"),
            # search.perturbagens: every signature of the listed perturbagens (a scan of the release without it).
            models.Index(fields=["release", "pert_id"], name="signature_perturbagen"),
        ]

    def __str__(self):
        return self.sig_id


class Direction(models.TextChoices):
    UP = "up", "Up-regulated"
    DOWN = "down", "Down-regulated"


class GeneTopEntry(models.Model):
    """The per-gene index: one signature among a gene's top 100 (by CD, log2FC or rank).

    Rows are the union of the three top lists for (release, gene, pert_type,
    direction); each carries all three values and which lists it made.
    """

    # No index of their own on release and gene: topentry_lookup starts with both, and every
    # index the COPY of a release's ten million rows maintains costs load time (docs/benchmarks.md).
    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="+", db_index=False)
    gene = models.ForeignKey("conversion.Gene", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+", db_index=False)
    pert_type = models.CharField(max_length=20, choices=PertType.choices)
    direction = models.CharField(max_length=4, choices=Direction.choices)
    signature = models.ForeignKey(Signature, on_delete=models.CASCADE, related_name="+")  # indexed: deleting signatures cascades here
    cd = models.FloatField()
    logfc = models.FloatField()
    rank = models.PositiveIntegerField(help_text="The gene's rank inside the signature, 1 = most up (or down).")
    top_cd = models.BooleanField(default=False)
    top_logfc = models.BooleanField(default=False)
    top_rank = models.BooleanField(default=False)

    class Meta:
        indexes = [
            # search.query unfiltered result page: one gene's lists in the active release.
            models.Index(fields=["release", "gene", "pert_type", "direction"], name="topentry_lookup"),
        ]


class GeneReliability(models.Model):
    """How well the release's model predicts one gene: gene-wise Pearson r on paired L1000/RNA-seq samples
    (conversion.translator.evaluate), as the model's bundle recorded it when the release was merged."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="gene_reliability")
    entrez_id = models.IntegerField()
    pcc = models.FloatField(help_text="Pearson correlation of predicted and measured expression across the paired samples.")
    rmse = models.FloatField(null=True, blank=True, help_text="Root mean squared error (log2 units) across the paired samples.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release", "entrez_id"], name="gene_reliability_unique")]


class JobStage(models.TextChoices):
    BATCHES = "batches", "Computing batches"
    MERGE = "merge", "Writing the release stores"
    INDEX = "index", "Building the per-gene index"
    DONE = "done", "Done"


class SignatureJob(Job):
    """Compute a release's signatures from one dataset, batch by batch, then its index."""

    release = models.OneToOneField(Release, on_delete=models.CASCADE, related_name="job")
    # The merge is claimed by one conditional UPDATE batches -> merge, so that
    # of several batch tasks finishing together exactly one starts it.
    stage = models.CharField(max_length=16, choices=JobStage.choices, default=JobStage.BATCHES)
    # Set by the one finish step that claims the merge and index (a conditional
    # UPDATE); a redelivered copy of that task finds it set and does nothing.
    finish_claimed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Signatures {self.pk} for {self.release}"

    def enqueue(self) -> None:
        from signatures.tasks import run_signature_job

        transaction.on_commit(lambda: run_signature_job.delay(self.pk))

    def on_resume(self) -> None:
        """Back to planning: finished batches are kept, and so is a finished merge
        (the release is complete), in which case only the index is built again."""
        SignatureJob.objects.filter(pk=self.pk).update(stage=JobStage.BATCHES, finish_claimed_at=None)
        Release.objects.filter(pk=self.release_id).exclude(status=ReleaseStatus.COMPLETE).update(status=ReleaseStatus.BUILDING)


class BatchStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"


class SignatureBatch(models.Model):
    """One batch of a SignatureJob: the idempotent chunk of work, with its own output file.

    A batch is done when its chunk file exists and this row says so; a re-run
    or a resumed job recomputes only the batches that are not.
    """

    job = models.ForeignKey(SignatureJob, on_delete=models.CASCADE, related_name="batches")
    index = models.PositiveIntegerField(help_text="Position in the job's batch plan.")
    name = models.CharField(max_length=100)
    n_profiles = models.PositiveIntegerField(default=0)
    n_signatures = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=16, choices=BatchStatus.choices, default=BatchStatus.PENDING)
    path = models.CharField(max_length=500, blank=True, help_text="Chunk file, relative to DATA_DIR.")
    plan = models.JSONField(default=dict, blank=True, help_text="The batch's profiles and groups (signatures.batches.batch_to_dict).")
    seconds = models.FloatField(default=0.0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["job", "index"]
        constraints = [models.UniqueConstraint(fields=["job", "index"], name="signature_batch_job_index_unique")]

    def __str__(self):
        return f"{self.name} ({self.status})"
