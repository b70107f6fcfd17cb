"""The search app's one table: saved gene-set queries. Otherwise it reads the gene registry
(conversion.models) and the releases (signatures.models)."""

from __future__ import annotations

from django.db import models


class SavedSetQuery(models.Model):
    """A gene-set search's normalised query (search.set_search.SetQuery) under its result id, so that
    sets too long for a URL are shared as /sets/<id>/. Saved when the search is POSTed and succeeds;
    never changed afterwards (the id is the hash of the query)."""

    key = models.CharField(max_length=16, primary_key=True)
    # The release's name, not a foreign key: an id outlives its release and says which one it was made for.
    release_name = models.CharField(max_length=100)
    up = models.JSONField(default=list)  # entries, normalised
    down = models.JSONField(default=list)
    types = models.JSONField(default=list)
    cell_lines = models.JSONField(default=list)
    dose = models.FloatField(null=True, blank=True)
    time = models.FloatField(null=True, blank=True)
    limit = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"set search {self.key} ({self.release_name})"

    @classmethod
    def save_query(cls, query) -> "SavedSetQuery":
        """The row of `query` (a SetQuery), created the first time it is saved."""
        saved, _ = cls.objects.get_or_create(
            key=query.key,
            defaults=dict(
                release_name=query.release, up=list(query.up), down=list(query.down), types=list(query.types), cell_lines=list(query.cell_lines),
                dose=query.dose, time=query.time, limit=query.limit,
            ),
        )
        return saved

    def query(self):
        from search.set_search import SetQuery

        return SetQuery(self.release_name, tuple(self.up), tuple(self.down), tuple(self.types), tuple(self.cell_lines), self.limit, self.dose, self.time)
