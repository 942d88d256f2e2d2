from django.db import migrations

# BRIN suits an append-mostly, time-ordered table: a tiny index that lets
# retention find old rows without a B-tree the size of the data. SQLite has
# no BRIN, so this is Postgres-only.


def create_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("CREATE INDEX IF NOT EXISTS sample_ts_brin ON metrics_sample USING brin (ts)")


def drop_brin(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS sample_ts_brin")


class Migration(migrations.Migration):
    dependencies = [("metrics", "0001_initial")]
    operations = [migrations.RunPython(create_brin, drop_brin)]
