"""Bulk loads: COPY on PostgreSQL (DESIGN: bulk loads use COPY, not row-by-row inserts)."""

from django.db import connection


def copy_rows(model, columns, rows, *, batch_size: int = 5000) -> int:
    """Bulk-load rows (tuples in `columns` order): COPY on PostgreSQL, bulk_create on SQLite."""
    n = 0
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c if c != "column" else model._meta.get_field("column").column) for c in columns)
        with connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # psycopg 3 COPY
                for row in rows:
                    copy.write_row(row)
                    n += 1
        return n
    batch = []
    for row in rows:
        batch.append(model(**dict(zip(columns, row))))
        if len(batch) >= batch_size:
            model.objects.bulk_create(batch)
            n += len(batch)
            batch = []
    if batch:
        model.objects.bulk_create(batch)
        n += len(batch)
    return n
