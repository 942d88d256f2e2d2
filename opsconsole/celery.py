import os

from celery import Celery
from celery.signals import beat_init, worker_ready, worker_shutdown

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsconsole.settings")

from opsconsole.environment import load_settings_or_exit

# Celery reads the settings lazily, deep inside its start-up, where an error
# becomes a traceback: read them now so a wrong setting is one line, exit 2.
load_settings_or_exit()

app = Celery("opsconsole")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_finalize.connect
def schedule_periodic_jobs(sender, **kwargs):
    import django
    from django.apps import apps

    if not apps.ready:  # beat finalizes before Django is set up; the jobs register in AppConfig.ready
        django.setup()
    from realtime.schedule import PERIODIC_QUEUE, registered_jobs

    for job in registered_jobs():
        # A run that waited longer than its interval is stale: the next one
        # is already on its way, so let it expire instead of piling up. Each
        # job goes to its queue: notification passes never wait behind the rest.
        sender.add_periodic_task(
            job.interval,
            sender.signature(
                "realtime.tasks.run_job", args=(job.name,), options={"expires": job.interval, "queue": job.queue}
            ),
            name=job.name,
        )
    from realtime.heartbeat import HEARTBEAT_INTERVAL_SECONDS

    sender.add_periodic_task(
        HEARTBEAT_INTERVAL_SECONDS,
        # On the periodic jobs' queue: its heartbeat says that queue is being worked.
        sender.signature(
            "realtime.tasks.heartbeat", options={"expires": HEARTBEAT_INTERVAL_SECONDS, "queue": PERIODIC_QUEUE}
        ),
        name="heartbeat",
    )


@worker_ready.connect
def record_first_heartbeat(sender, **kwargs):
    # A worker that has just started (or restarted) is ready before beat's next
    # heartbeat task reaches it: say so at once rather than up to an interval later.
    from realtime.heartbeat import record_heartbeat

    record_heartbeat("worker")
    from realtime.lifecycle import STARTED, announce

    announce(STARTED, "worker")


@worker_shutdown.connect
def announce_worker_stop(sender, **kwargs):
    from realtime.lifecycle import STOPPED, announce

    announce(STOPPED, "worker")


@beat_init.connect
def announce_beat_start(sender, **kwargs):
    # Beat has no shutdown signal: its stop is announced when its process exits.
    from realtime.lifecycle import announce_start_once

    announce_start_once("beat")
