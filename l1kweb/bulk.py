"""Bulk loads: COPY on PostgreSQL (DESIGN: bulk loads use COPY, not row-by-row inserts), executemany on SQLite."""

import numpy as np
from django.db import connection


def copy_rows(model, columns, rows, *, batch_size: int = 5000) -> int:
    """Bulk-load rows (tuples of plain or numpy scalars in `columns` order, column names as stored); returns how many.

    PostgreSQL: one COPY. SQLite (the embedded demo): one prepared INSERT run
    over batches of rows, without building a model instance per row.
    """
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(connection.ops.quote_name(c if c != "column" else model._meta.get_field("column").column) for c in columns)
    n = 0
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:  # psycopg 3 COPY
                for row in rows:
                    copy.write_row(row)
                    n += 1
            return n
        sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
        batch = []
        for row in rows:
            batch.append(tuple(v.item() if isinstance(v, np.generic) else v for v in row))
            if len(batch) >= batch_size:
                cursor.executemany(sql, batch)
                n += len(batch)
                batch = []
        if batch:
            cursor.executemany(sql, batch)
            n += len(batch)
    return n


def analyze(*models) -> None:
    """Refresh the planner's statistics of the models' tables after a bulk load.

    A COPY of a million rows leaves PostgreSQL's statistics describing the
    table as it was; until autovacuum catches up, the planner picks indexes for
    the old table (a perturbagen's signatures by scanning every signature of
    the release rather than through the index on release and pert_id).
    """
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
