from django.db import models
from django.db.models.functions import Upper


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
            # search.lookup: case-insensitive exact and prefix match on the symbol.
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
