from django.db import migrations


class Migration(migrations.Migration):
    """The gene registry now belongs to conversion (conversion 0004); its tables stay as they are."""

    dependencies = [
        ("search", "0002_gene_tables_to_conversion"),
        ("conversion", "0004_gene_registry"),
        ("signatures", "0005_genetopentry_gene_in_conversion"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="GeneAlias"),
                migrations.DeleteModel(name="Gene"),
            ],
            database_operations=[],
        ),
    ]
