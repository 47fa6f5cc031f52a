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


@shared_task(bind=True, max_retries=5, default_retry_delay=30)
def process_delivery_event_task(self, event_id: int) -> None:
    from notifications.feedback import delivery_event_process

    delivery_event_process(event_id)


@shared_task(bind=True, max_retries=5)
def send_inbound_reply_task(self, inbound_id: int) -> bool:
    from notifications.channels import ProviderError
    from notifications.feedback import inbound_reply_send

    try:
        return inbound_reply_send(inbound_id)
    except ProviderError as exc:
        if exc.permanent:
            return False
        raise self.retry(exc=exc, countdown=2 ** (self.request.retries + 4)) from exc


@shared_task
def learn_send_times_task() -> int:
    from notifications.learning import best_hours_learn

    return best_hours_learn()
