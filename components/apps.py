from django.apps import AppConfig


class ComponentsConfig(AppConfig):
    name = "components"
    verbose_name = "Component status"

    def ready(self):
        from components.services import check_missed_reports
        from components.system import on_heartbeat, on_process_event
        from realtime.heartbeat import register_heartbeat_listener
        from realtime.lifecycle import register_lifecycle_listener
        from realtime.schedule import register_job

        register_job("check-missed-reports", check_missed_reports, "OPSCONSOLE_COMPONENT_CHECK_INTERVAL")
        register_heartbeat_listener(on_heartbeat)
        register_lifecycle_listener(on_process_event)
