from django.apps import AppConfig


class ComponentsConfig(AppConfig):
    name = "components"
    verbose_name = "Component status"

    def ready(self):
        from components.event_log import changes_since
        from components.services import check_missed_reports
        from components.system import on_heartbeat, on_process_event
        from realtime.heartbeat import register_heartbeat_listener
        from realtime.lifecycle import register_lifecycle_listener
        from realtime.replay import register_durable_log
        from realtime.schedule import register_job
        from realtime.topics import STATUS

        register_durable_log(STATUS, changes_since)
        register_job("check-missed-reports", check_missed_reports, "OPSCONSOLE_COMPONENT_CHECK_INTERVAL")
        register_heartbeat_listener(on_heartbeat)
        register_lifecycle_listener(on_process_event)
