from pathlib import Path

from django.conf import settings
from django.db import models

from l1kweb.jobs import Job


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


class ConversionJob(Job):
    """Convert one L1000 dataset to RNA-seq-like profiles with one translator, chunk by chunk."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="conversion_jobs")
    translator = models.ForeignKey(TranslatorModel, on_delete=models.PROTECT, related_name="conversion_jobs")
    output = models.ForeignKey(Dataset, null=True, blank=True, on_delete=models.SET_NULL, related_name="produced_by")
    output_name = models.SlugField(max_length=100, blank=True)
    chunk_size = models.PositiveIntegerField(default=20_000)
    float16 = models.BooleanField(default=False)
    device = models.CharField(max_length=16, default="auto")

    def __str__(self):
        return f"Conversion {self.pk}: {self.dataset} with {self.translator}"


def resolve_data_path(path: str) -> Path:
    p = Path(path)
    return p if p.is_absolute() else Path(settings.DATA_DIR) / p
