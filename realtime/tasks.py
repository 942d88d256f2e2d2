from celery import shared_task

from realtime.heartbeat import record_heartbeat
from realtime.schedule import run_job as run_job_now


@shared_task(name="realtime.tasks.run_job", ignore_result=True)  # type: ignore[untyped-decorator]  # celery: no types
def run_job(name: str) -> None:
    """Celery's way into a periodic job: the same function the embedded scheduler runs."""
    run_job_now(name)


@shared_task(name="realtime.tasks.heartbeat", ignore_result=True)  # type: ignore[untyped-decorator]  # celery: no types
def heartbeat() -> None:
    """Sent by beat, run by a worker: the worker's heartbeat says it takes tasks off the queue."""
    record_heartbeat("worker")
