from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and incidents"

    def ready(self):
        from alerts.replay import changes_since
        from realtime.replay import register_durable_log
        from realtime.topics import ALERTS

        register_durable_log(ALERTS, changes_since)
