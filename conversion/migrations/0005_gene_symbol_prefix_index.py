from django.db import migrations

# Prefix matches (UPPER(symbol) LIKE 'ABC%') can use a B-tree index only with
# the pattern operator class when the database collation is not C (en_US and
# the like). PostgreSQL only; SQLite's LIKE is served by a scan, which the
# demo's few thousand genes do not notice.
CREATE = (
    "CREATE INDEX IF NOT EXISTS gene_symbol_upper_prefix ON conversion_gene (UPPER(symbol) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS gene_alias_upper_prefix ON conversion_genealias (UPPER(alias) text_pattern_ops)",
)
DROP = ("DROP INDEX IF EXISTS gene_symbol_upper_prefix", "DROP INDEX IF EXISTS gene_alias_upper_prefix")


def run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [
        ("conversion", "0004_gene_registry"),
    ]

    operations = [migrations.RunPython(run(CREATE), run(DROP))]
