from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "alerts"
    verbose_name = "Alerts and incidents"

    def ready(self):
        from alerts.flapping import settle_flapping
        from alerts.notifications import dispatch_notifications
        from alerts.rules import evaluate_rules
        from alerts.services import apply_silences, broadcast_alert_summary
        from realtime.schedule import NOTIFICATIONS_QUEUE, register_job

        register_job("evaluate-alert-rules", evaluate_rules, "OPSCONSOLE_RULES_INTERVAL")
        register_job("apply-silences", apply_silences, "OPSCONSOLE_RULES_INTERVAL")
        register_job("settle-flapping", settle_flapping, "OPSCONSOLE_RULES_INTERVAL")
        register_job(
            "deliver-notifications", dispatch_notifications, "OPSCONSOLE_NOTIFY_INTERVAL", queue=NOTIFICATIONS_QUEUE
        )
        register_job("broadcast-alert-summary", broadcast_alert_summary, "OPSCONSOLE_SUMMARY_INTERVAL")
