from django.apps import AppConfig


class OncallConfig(AppConfig):
    name = "oncall"
    verbose_name = "On call"

    def ready(self):
        from alerts.services import alert_changed
        from oncall.escalation import on_alert_changed, run_escalations
        from realtime.schedule import register_job

        alert_changed.connect(on_alert_changed, dispatch_uid="oncall-escalation")
        # Each pass is short (it queues deliveries; the sender sends), so it shares the periodic lane.
        register_job("run-escalations", run_escalations, "OPSCONSOLE_NOTIFY_INTERVAL")
