"""Querysets compiled to SQL once per shape (search.query's index lists, search.lookup's gene lookup)."""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.db import connection, models
from django.db.models.lookups import In


class CompiledQuery:
    """A values_list query's SQL, compiled by the ORM once per shape and then run with each request's parameters.

    Building and compiling a queryset costs more CPU than PostgreSQL spends
    answering a gene's lookup or its top lists from the index (docs/benchmarks.md,
    Search). `rows(shape, build, params)` compiles `build()` the first time a
    shape is seen, checks that the ORM's parameters are `params` in that order
    (so that later calls may pass theirs; the ORM keeps the order of chained
    `filter()` calls but sorts the conditions of one call), and afterwards runs
    the kept SQL with `params`. The values come back as the database driver
    returns them: only for columns without ORM converters (numbers, text,
    booleans). The SQL of the `size` shapes used last is kept.
    """

    def __init__(self, size: int = 128):
        self._size = size
        self._lock = threading.Lock()
        self._sql: OrderedDict[tuple, str] = OrderedDict()

    def rows(self, shape: tuple, build, params: tuple) -> list[tuple]:
        with self._lock:
            sql = self._sql.get(shape)
            if sql is not None:
                self._sql.move_to_end(shape)
        if sql is None:
            sql, compiled = build().query.sql_with_params()
            if tuple(compiled) != tuple(params):
                raise ValueError(f"The query's parameters are {tuple(compiled)!r}, not the {tuple(params)!r} its callers pass.")
            with self._lock:
                self._sql[shape] = sql
                while len(self._sql) > self._size:
                    self._sql.popitem(last=False)
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


@models.IntegerField.register_lookup
class AnyOf(In):
    """`field__any_of=values`: `field IN (...)`, written on PostgreSQL as `field = ANY(%s)` with the values as one array.

    An `__in` list writes a placeholder per value, so its SQL differs with the number of values: the
    driver converts the query's text again for each count (psycopg keeps the conversion of queries
    of at most 50 parameters) and the server prepares a statement per count. `= ANY` is one statement
    whatever the count. The array is cast to the column's type, so that psycopg's choice of integer
    width for the values never changes the statement. `any_of_params` gives the parameters the SQL takes.
    """

    lookup_name = "any_of"

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s::{self.lhs.output_field.cast_db_type(connection)}[])", (*lhs_params, list(self.rhs))


def any_of_params(values: list) -> tuple:
    """The parameters an `any_of` lookup over `values` (distinct) takes on this connection: one list, or a parameter per value."""
    return (list(values),) if connection.vendor == "postgresql" else tuple(values)
