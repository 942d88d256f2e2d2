"""Wire formats other tools push metrics in, read into ``metrics.points.Point``s.

Each module turns one format into points held to the JSON ingest body's
rules (``metrics.points.PointBuilder``) and raises ``InvalidItem`` naming the
line or item at fault; ``metrics.services.ingest_points`` stores them, as it
stores every other batch.
"""
