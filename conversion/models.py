import math
import re
from pathlib import Path

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models.functions import Upper

from l1kweb.jobs import Job, JobStateError, JobStatus
from l1kweb.paths import NAME_PATTERN, allowed_path, check_name, resolve_data_path, stored_data_path

file_name_part = RegexValidator(
    f"^{NAME_PATTERN}$", "Letters, digits, '.', '_' or '-' only, starting with a letter or digit (it becomes part of a file name)."
)


class GeneStatus(models.TextChoices):
    LANDMARK = "landmark", "Measured landmark"
    INFERRED = "inferred", "Inferred by CMap"
    MODEL_ONLY = "model_only", "Predicted by the model only"
    OTHER = "other", "Other"


class Gene(models.Model):
    """One human gene, keyed by its NCBI Entrez id (symbols drift; ids do not)."""

    entrez_id = models.PositiveBigIntegerField(primary_key=True)
    symbol = models.CharField(max_length=64)
    name = models.CharField(max_length=300, blank=True)
    ensembl_id = models.CharField(max_length=32, blank=True)
    status = models.CharField(max_length=16, choices=GeneStatus.choices, default=GeneStatus.OTHER)
    in_model_output = models.BooleanField(default=False, help_text="Among the translator's output genes.")

    class Meta:
        ordering = ["symbol"]
        indexes = [
            # search.lookup: case-insensitive exact match on the symbol (prefix matches
            # use gene_symbol_upper_prefix, a text_pattern_ops index made on PostgreSQL
            # by migration conversion 0005).
            models.Index(Upper("symbol"), name="gene_symbol_upper"),
            models.Index(fields=["ensembl_id"], name="gene_ensembl"),
        ]

    def __str__(self):
        return self.symbol


class AliasKind(models.TextChoices):
    SYNONYM = "synonym", "Synonym"
    PREVIOUS = "previous", "Previous symbol"
    ENSEMBL = "ensembl", "Ensembl id"


class GeneAlias(models.Model):
    gene = models.ForeignKey(Gene, on_delete=models.CASCADE, related_name="aliases")
    alias = models.CharField(max_length=64)
    kind = models.CharField(max_length=16, choices=AliasKind.choices, default=AliasKind.SYNONYM)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gene", "alias"], name="gene_alias_unique")]
        indexes = [models.Index(Upper("alias"), name="gene_alias_upper")]  # search.lookup by alias

    def __str__(self):
        return f"{self.alias} -> {self.gene_id}"


class DatasetKind(models.TextChoices):
    L1000 = "l1000", "L1000 Level 3 (landmark and inferred genes)"
    RNASEQ_LIKE = "rnaseq_like", "RNA-seq-like (converted by a translator)"
    RNASEQ = "rnaseq", "RNA-seq"


class Dataset(models.Model):
    """A registered matrix of profiles: a GCTX file plus its per-profile metadata table."""

    name = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=DatasetKind.choices)
    path = models.CharField(max_length=500, help_text="GCTX (or GCT) file; relative paths are under DATA_DIR.")
    metadata_path = models.CharField(max_length=500, blank=True, help_text="Per-profile metadata (inst_info) TSV.")
    n_profiles = models.PositiveIntegerField(default=0)
    n_genes = models.PositiveIntegerField(default=0)
    source = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="derived")
    translator = models.ForeignKey("TranslatorModel", null=True, blank=True, on_delete=models.SET_NULL, related_name="datasets")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def file(self) -> Path:
        return resolve_data_path(self.path)

    @property
    def metadata_file(self) -> Path | None:
        return resolve_data_path(self.metadata_path) if self.metadata_path else None

    def built_from_it(self) -> list[str]:
        """What was computed from this dataset's file: the rows that protect it from deletion
        (signature releases) and the datasets converted from it, as 'release r1', 'dataset x'."""
        found = []
        for relation in self._meta.related_objects:
            if relation.on_delete is models.PROTECT or (relation.related_model is Dataset and relation.field.name == "source"):
                label = relation.related_model._meta.verbose_name
                found += [f"{label} {obj}" for obj in getattr(self, relation.get_accessor_name()).all()[:5]]
        return found

    def repointing_refused(self) -> "DatasetInUse | None":
        """The refusal to point this dataset at other data when something was built from it; None when nothing was."""
        users = self.built_from_it()
        if not users:
            return None
        return DatasetInUse(
            f"Dataset {self.name} cannot be pointed at other data: {', '.join(users)} {'was' if len(users) == 1 else 'were'} "
            "built from it. Register the new file under another name.",
            dataset=self,
        )

    @classmethod
    def in_use_at(cls, path: Path, *, name: str = "") -> "DatasetInUse | None":
        """The refusal to replace the data of a dataset named `name`, or registered at `path`, that something was built from."""
        target = Path(path).resolve()
        for dataset in cls.objects.all():
            if dataset.name == name or dataset.file.resolve() == target:
                refused = dataset.repointing_refused()
                if refused is not None:
                    return refused
        return None


class DatasetInUse(ValueError):
    """A change that would make a dataset's name mean other data than what was built from it."""

    def __init__(self, message: str, *, dataset: Dataset):
        super().__init__(message)
        self.dataset = dataset


class TranslatorModel(models.Model):
    """The model registry: one trained two-step translator bundle per row."""

    name = models.SlugField(max_length=100)
    version = models.CharField(max_length=50)
    path = models.CharField(max_length=500, help_text="Model bundle; relative paths are under DATA_DIR.")
    size = models.CharField(max_length=20, blank=True)
    metrics = models.JSONField(default=dict, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="translator_name_version_unique"),
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_translator"),
        ]

    def __str__(self):
        return f"{self.name} {self.version}"

    @property
    def file(self) -> Path:
        return resolve_data_path(self.path)

    @classmethod
    def register_bundle(cls, path, *, name: str, description: str = "", activate: bool = False) -> "TranslatorModel":
        """Create (or update) the registry row of a bundle file; the bundle is loaded and checked first."""
        from conversion.translator.bundle import load_bundle

        bundle = load_bundle(resolve_data_path(str(path)))
        with transaction.atomic():
            model, _ = cls.objects.update_or_create(
                name=name,
                version=bundle.version,
                defaults={
                    "path": stored_data_path(path),
                    "size": bundle.config.size,
                    "metrics": bundle.metrics,
                    "description": description or f"{len(bundle.input_entrez_ids)} landmark -> {len(bundle.output_entrez_ids)} genes",
                },
            )
            if activate:
                model.activate()
        return model

    def activate(self) -> None:
        """Make this the one active translator (one atomic switch; the partial unique index guards it)."""
        with transaction.atomic():
            TranslatorModel.objects.filter(is_active=True).exclude(pk=self.pk).update(is_active=False)
            TranslatorModel.objects.filter(pk=self.pk).update(is_active=True)
        self.is_active = True

    @classmethod
    def active(cls) -> "TranslatorModel | None":
        return cls.objects.filter(is_active=True).first()


class ConversionJob(Job):
    """Convert one L1000 dataset to RNA-seq-like profiles with one translator, chunk by chunk."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="conversion_jobs")
    translator = models.ForeignKey(TranslatorModel, on_delete=models.PROTECT, related_name="conversion_jobs")
    output = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="produced_by")
    output_name = models.SlugField(max_length=100, blank=True)
    chunk_size = models.PositiveIntegerField(default=20_000)
    float16 = models.BooleanField(default=False)
    device = models.CharField(max_length=16, default="auto")
    output_path = models.CharField(max_length=500, blank=True, help_text="Output GCTX; default DATA_DIR/converted/<output name>.gctx.")

    def __str__(self):
        return f"Conversion {self.pk}: {self.dataset} with {self.translator}"

    def save(self, *args, **kwargs):
        if not self.output_name:
            self.output_name = default_output_name(self.dataset, self.translator)
        if self._state.adding:
            other = self.job_writing_the_same_output()
            if other is not None:
                raise JobStateError(other, f"it writes {self.output_name_or_path}; wait for it or cancel it before starting another conversion into the same file")
            self.refuse_an_output_in_use()
        super().save(*args, **kwargs)

    def refuse_an_output_in_use(self) -> None:
        """Raise DatasetInUse when the output would replace a dataset that something was built from."""
        refused = Dataset.in_use_at(self.output_file, name=self.output_name)
        if refused is not None:
            name = refused.dataset.name
            raise DatasetInUse(f"Converting into {self.output_name_or_path} would replace dataset {name}'s data. {refused}", dataset=refused.dataset)

    @property
    def output_name_or_path(self) -> str:
        return self.output_path or f"converted/{self.output_name}.gctx"

    def job_writing_the_same_output(self) -> "ConversionJob | None":
        """Another queued or running (not orphaned) conversion into this job's output file, if any."""
        target = self.output_file.resolve()
        live = ConversionJob.objects.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exclude(pk=self.pk).select_related("dataset", "translator")
        return next((job for job in live if job.is_live and job.output_file.resolve() == target), None)

    @property
    def output_file(self) -> Path:
        """Where the converted GCTX goes: DATA_DIR/converted/<output_name>.gctx (parts beside it while running)."""
        if self.output_path:
            return resolve_data_path(self.output_path)
        return Path(settings.DATA_DIR) / "converted" / f"{self.output_name}.gctx"

    def plan_chunks(self) -> int:
        return max(1, math.ceil(self.dataset.n_profiles / self.chunk_size)) if self.dataset.n_profiles else 0

    def enqueue(self) -> None:
        """Send the job to the gpu queue once the surrounding transaction has committed."""
        from conversion.tasks import run_conversion

        transaction.on_commit(lambda: run_conversion.delay(self.pk))

    @classmethod
    def start(cls, dataset: "Dataset", translator: "TranslatorModel", *, user=None, **options) -> "ConversionJob":
        """Create and enqueue a (re)conversion; the admin, commands and the API all start jobs here."""
        with transaction.atomic():
            job = cls(dataset=dataset, translator=translator, created_by=user, **options)
            job.chunks_total = job.plan_chunks()
            job.save()
            job.enqueue()
        return job


def default_output_name(dataset: "Dataset", translator: "TranslatorModel") -> str:
    slug = re.sub(r"[^a-z0-9_-]+", "-", f"{dataset.name}-{translator.name}-{translator.version}".lower()).strip("-")
    return slug[:100]


class TrainingJob(Job):
    """Train a translator from files on the gpu worker, register it, optionally evaluate and activate it.

    Progress counts epochs (CycleGAN epochs + the extrapolator's epoch budget;
    early stopping may finish step 2 sooner). Checkpoints are written after
    every epoch, so a resumed job continues from the last finished epoch.
    """

    name = models.SlugField(max_length=100, help_text="Registry name of the new translator.")
    version = models.CharField(max_length=50, blank=True, validators=[file_name_part], help_text="Default: a UTC timestamp.")
    size = models.CharField(max_length=20, default="small", choices=[(s, s) for s in ("tiny", "small", "paper")])
    device = models.CharField(max_length=16, default="auto")
    l1000_path = models.CharField(max_length=500, help_text="L1000 Level 3 GCTX/GCT; relative paths are under DATA_DIR.")
    rnaseq_path = models.CharField(max_length=500, help_text="ARCHS4 gene-count HDF5.")
    gene_info_path = models.CharField(max_length=500, blank=True, help_text="NCBI Homo_sapiens.gene_info; default: the gene registry.")
    output_genes_path = models.CharField(max_length=500, blank=True, help_text="Output Entrez ids, one per line; default: all ARCHS4 genes.")
    paired_l1000_path = models.CharField(max_length=500, blank=True, help_text="Optional GTEx-style paired L1000 GCTX to evaluate on.")
    paired_rnaseq_path = models.CharField(max_length=500, blank=True, help_text="Its paired RNA-seq GCTX (log2(count+1)).")
    epochs = models.PositiveIntegerField(null=True, blank=True, help_text="CycleGAN epochs; default: the size's.")
    max_epochs_step2 = models.PositiveIntegerField(null=True, blank=True)
    lambda_identity = models.FloatField(null=True, blank=True)
    max_l1000 = models.PositiveIntegerField(default=200_000)
    max_rnaseq = models.PositiveIntegerField(default=50_000)
    seed = models.IntegerField(default=0)
    activate = models.BooleanField(default=False, help_text="Make the new translator active when done.")
    translator = models.ForeignKey(TranslatorModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="training_jobs")

    def __str__(self):
        return f"Training {self.pk}: {self.name} {self.version}".strip()

    def save(self, *args, **kwargs):
        if not self.version:
            from django.utils import timezone

            self.version = timezone.now().strftime("%Y%m%d-%H%M%S")
        super().save(*args, **kwargs)

    def config(self):
        from conversion.translator.config import configure

        return configure(self.size, seed=self.seed, epochs=self.epochs, max_epochs_step2=self.max_epochs_step2, lambda_identity=self.lambda_identity)

    @property
    def bundle_file(self) -> Path:
        """DATA_DIR/models/<name>-<version>.pt; a name or version that would leave it is refused."""
        check_name(self.name, what="Translator name")
        check_name(self.version, what="Version")
        return allowed_path(Path(settings.DATA_DIR) / "models" / f"{self.name}-{self.version}.pt", write=True)

    def enqueue(self) -> None:
        from conversion.tasks import run_training

        transaction.on_commit(lambda: run_training.delay(self.pk))

