from django.db import migrations

# Range reads of one series touch a few rows on each of thousands of heap
# pages, because agents interleave their series in time: a 7-day query of one
# of 20 series read the whole table (8,900 pages) for 60,000 rows. With the
# value in the (series, ts) index the same read is an index-only scan of about
# 300 pages. The index keeps its name, so the model's Meta still describes it;
# SQLite has no INCLUDE and keeps the plain index.
#
# An index-only scan skips the heap only for pages the visibility map marks
# all-visible, which VACUUM does. Autovacuum's default waits for 20 % of the
# table to be new rows, i.e. more than a day of samples that queries would
# fetch from the heap; 1 % keeps that to a couple of hours, and vacuuming an
# insert-mostly table only visits its new pages.
#
# CONCURRENTLY, so a console with a large samples table keeps ingesting while
# the index builds; it cannot run in a transaction, hence atomic = False.


def cover_value(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # An interrupted earlier run may have left an invalid half-built index behind.
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS sample_series_ts_value")
    schema_editor.execute(
        "CREATE INDEX CONCURRENTLY sample_series_ts_value ON metrics_sample (series_id, ts) INCLUDE (value)"
    )
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS sample_series_ts")
    schema_editor.execute("ALTER INDEX sample_series_ts_value RENAME TO sample_series_ts")
    schema_editor.execute("ALTER TABLE metrics_sample SET (autovacuum_vacuum_insert_scale_factor = 0.01)")


def uncover_value(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE metrics_sample RESET (autovacuum_vacuum_insert_scale_factor)")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS sample_series_ts_plain")
    schema_editor.execute("CREATE INDEX CONCURRENTLY sample_series_ts_plain ON metrics_sample (series_id, ts)")
    schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS sample_series_ts")
    schema_editor.execute("ALTER INDEX sample_series_ts_plain RENAME TO sample_series_ts")


class Migration(migrations.Migration):
    atomic = False
    dependencies = [("metrics", "0003_sample_without_foreign_key_constraint")]
    operations = [migrations.RunPython(cover_value, uncover_value)]
