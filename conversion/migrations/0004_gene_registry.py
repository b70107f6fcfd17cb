import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    """Gene and GeneAlias join this app's state; their tables exist already (renamed by search 0002)."""

    dependencies = [
        ("conversion", "0003_trainingjob"),
        ("search", "0002_gene_tables_to_conversion"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Gene",
                    fields=[
                        ("entrez_id", models.PositiveBigIntegerField(primary_key=True, serialize=False)),
                        ("symbol", models.CharField(max_length=64)),
                        ("name", models.CharField(blank=True, max_length=300)),
                        ("ensembl_id", models.CharField(blank=True, max_length=32)),
                        ("status", models.CharField(choices=[("landmark", "Measured landmark"), ("inferred", "Inferred by CMap"), ("model_only", "Predicted by the model only"), ("other", "Other")], default="other", max_length=16)),
                        ("in_model_output", models.BooleanField(default=False, help_text="Among the translator's output genes.")),
                    ],
                    options={
                        "ordering": ["symbol"],
                        "indexes": [models.Index(django.db.models.functions.text.Upper("symbol"), name="gene_symbol_upper"), models.Index(fields=["ensembl_id"], name="gene_ensembl")],
                    },
                ),
                migrations.CreateModel(
                    name="GeneAlias",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("alias", models.CharField(max_length=64)),
                        ("kind", models.CharField(choices=[("synonym", "Synonym"), ("previous", "Previous symbol"), ("ensembl", "Ensembl id")], default="synonym", max_length=16)),
                        ("gene", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="aliases", to="conversion.gene")),
                    ],
                    options={
                        "indexes": [models.Index(django.db.models.functions.text.Upper("alias"), name="gene_alias_upper")],
                        "constraints": [models.UniqueConstraint(fields=("gene", "alias"), name="gene_alias_unique")],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
