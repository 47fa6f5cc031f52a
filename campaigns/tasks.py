"""Thin tasks: a campaign's gifts, a batch of recipients per task, each task queueing the next."""

from celery import shared_task

from campaigns import services


@shared_task(bind=True, max_retries=5, default_retry_delay=60)
def campaign_gifts_task(self, campaign_id: int, after: int = 0) -> None:
    try:
        last = services.campaign_gifts_grant(campaign_id=campaign_id, after=after)
    except Exception as exc:
        raise self.retry(exc=exc) from exc
    if last is not None:
        campaign_gifts_task.delay(campaign_id, last)
