from celery import shared_task

from realtime.schedule import run_job as run_job_now


@shared_task(name="realtime.tasks.run_job", ignore_result=True)  # type: ignore[untyped-decorator]  # celery: no types
def run_job(name: str) -> None:
    """Celery's way into a periodic job: the same function the embedded scheduler runs."""
    run_job_now(name)
