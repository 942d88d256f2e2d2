"""Time series: a series per (name, tags), its samples, and per-minute rollups.

Samples are the hot table: narrow rows, keyed by (series, ts) with a B-tree
for range reads, written with COPY and, on Postgres, a BRIN index on ts for retention sweeps
(added in the migration, since SQLite has no BRIN).
"""

from django.db import models


class Series(models.Model):
    name = models.CharField(max_length=200)
    tags = models.JSONField(default=dict, blank=True)
    # Canonical "k=v" pairs, sorted: what makes a series unique, indexable on any database.
    tags_key = models.CharField(max_length=2000, editable=False)
    last_value = models.FloatField(null=True, blank=True)
    last_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    unit = models.CharField(
        max_length=32, blank=True, default="", help_text='As the sender gave it, e.g. "By" or "ms".'
    )

    class Meta:
        verbose_name_plural = "series"
        ordering = ["name", "tags_key"]
        constraints = [models.UniqueConstraint(fields=["name", "tags_key"], name="series_identity")]
        indexes = [models.Index(fields=["last_at"], name="series_last_at")]

    def __str__(self):
        return f"{self.name}{{{self.tags_key}}}"


class Sample(models.Model):
    id = models.BigAutoField(primary_key=True)
    # No database foreign key: Postgres would check every row of every batch
    # against the series table at commit (it doubled the cost of an ingest).
    # Rows only ever get series ids that ingest_points has just looked up or
    # created in the same transaction, and deleting a series still deletes its
    # samples (Django's cascade, one DELETE).
    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False, db_constraint=False, related_name="+")
    ts = models.DateTimeField()
    value = models.FloatField()

    class Meta:
        indexes = [models.Index(fields=["series", "ts"], name="sample_series_ts")]

    def __str__(self):
        return f"{self.series_id} {self.ts:%Y-%m-%d %H:%M:%S} {self.value}"


class Rollup(models.Model):
    """One minute of one series: what long ranges read once raw points are gone."""

    id = models.BigAutoField(primary_key=True)
    series = models.ForeignKey(Series, on_delete=models.CASCADE, db_index=False, related_name="+")
    bucket = models.DateTimeField()
    count = models.PositiveIntegerField()
    total = models.FloatField()
    minimum = models.FloatField()
    maximum = models.FloatField()
    last = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["series", "bucket"], name="rollup_series_bucket")]

    def __str__(self):
        return f"{self.series_id} {self.bucket:%Y-%m-%d %H:%M}"


class IngestCounter(models.Model):
    """A single row counting accepted points, so the overview never COUNTs the samples table."""

    points = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.points} points ingested"
