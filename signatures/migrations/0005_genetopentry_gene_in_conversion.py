import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    """GeneTopEntry.gene points at the gene registry's new app; the column does not change."""

    dependencies = [
        ("signatures", "0004_signaturejob_finish_claimed_at"),
        ("conversion", "0004_gene_registry"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="genetopentry",
                    name="gene",
                    field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="conversion.gene"),
                ),
            ],
            database_operations=[],
        ),
    ]
