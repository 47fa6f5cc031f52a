from celery import shared_task

from privacy.retention import retention_prune


@shared_task
def retention_prune_task() -> dict[str, int]:
    """Beat, daily: delete old provider events and empty old message bodies (privacy.retention)."""
    return retention_prune()
