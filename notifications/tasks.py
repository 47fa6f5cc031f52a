from celery import shared_task

from notifications import dispatch


@shared_task
def dispatch_due_task() -> int:
    """Beat, every few seconds: claim due rows and hand them out in batches of ids."""
    return dispatch.dispatch_due()


@shared_task(bind=True, max_retries=3, default_retry_delay=10)
def send_batch_task(self, ids: list[int]) -> dict:
    """Send one claimed batch. Rows not finished here keep their lease and are claimed again."""
    return dispatch.send_batch(ids)
