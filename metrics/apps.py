from django.apps import AppConfig


class MetricsConfig(AppConfig):
    name = "metrics"
    verbose_name = "Metrics"

    def ready(self):
        from metrics.collector import collect_host_metrics
        from metrics.query import recent_series
        from metrics.retention import apply_retention
        from metrics.services import broadcast_latest
        from realtime.history import register_history
        from realtime.schedule import register_job

        register_history(recent_series)
        register_job("collect-host-metrics", collect_host_metrics, "OPSCONSOLE_COLLECT_INTERVAL")
        register_job("broadcast-metrics", broadcast_latest, "OPSCONSOLE_METRICS_BROADCAST_INTERVAL")
        register_job("retention", apply_retention, "OPSCONSOLE_RETENTION_INTERVAL")
