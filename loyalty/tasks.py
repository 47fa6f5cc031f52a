from celery import shared_task

from loyalty import services


@shared_task
def expire_lots_task() -> int:
    return services.lots_expire_due()


@shared_task
def warn_expiring_task() -> int:
    return services.expiry_warnings_send()


@shared_task
def birthday_gifts_task() -> int:
    return services.birthday_gifts_grant()


@shared_task
def rolling_year_recount_task() -> int:
    return services.rolling_year_recount()
