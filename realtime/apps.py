from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "realtime"
    verbose_name = "Realtime delivery"

    def ready(self) -> None:
        from realtime.publish import broadcast_positions
        from realtime.relay import prune_stream, relay_all
        from realtime.schedule import register_job

        # Sends what a process that died after its commit left unsent, and
        # catches up once Redis takes writes again (realtime.relay).
        register_job("relay-stream", relay_all, "OPSCONSOLE_RELAY_INTERVAL")
        # Every socket of a durable endpoint learns its latest seq (contract, section 10).
        register_job("broadcast-stream-positions", broadcast_positions, "OPSCONSOLE_SUMMARY_INTERVAL")
        register_job("prune-stream", prune_stream, "OPSCONSOLE_RETENTION_INTERVAL")
