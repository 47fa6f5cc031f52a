"""Brute-force limits on POS API keys: an address that fails the key check too often is locked out.

Failures are counted in the cache (a shared one, Redis, in production: ``CACHE_URL``), so a guess
costs no database write; reaching ``LOYALTY_POS_AUTH_FAILURE_LIMIT`` within the lockout period
locks the address for ``LOYALTY_POS_AUTH_LOCKOUT_MINUTES`` by writing a ``PosLockout`` row, which
administrators see in the admin, where deleting it lifts the lock. The rows in force are what every
request checks, kept per process: a lock or its lifting takes effect at once in the process that
made it and within ``TABLE_CACHE_SECONDS`` in the others.
"""

import datetime
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from config.table_cache import TableCache
from loyalty.models import PosLockout


def _failures_key(ip: str) -> str:
    return f"pos-auth:failures:{ip}"


def _locked_key(ip: str) -> str:
    return f"pos-auth:locked:{ip}"


def _active_lockouts() -> dict[str, datetime.datetime]:
    rows = PosLockout.objects.filter(locked_until__gt=timezone.now()).values_list("ip", "locked_until")
    return {ip: until for ip, until in rows.order_by("locked_until")}


# Asked on every POS request: the lockouts in force are read once per process (config/table_cache.py),
# so a sale costs no round trip for them; a lockout reaches the other processes within TABLE_CACHE_SECONDS.
_LOCKED = TableCache("loyalty.pos_lockouts", _active_lockouts, models=(PosLockout,))


def is_locked(ip: str) -> bool:
    until = _LOCKED.get().get(ip)
    return until is not None and until > timezone.now()


def failure(ip: str, *, key_prefix: str = "") -> bool:
    """Count one failed key check from ``ip``; returns whether the address is now locked out."""
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        return False
    period = settings.LOYALTY_POS_AUTH_LOCKOUT_MINUTES * 60
    if cache.add(_failures_key(ip), 1, timeout=period):
        count = 1
    else:
        try:
            count = cache.incr(_failures_key(ip))
        except ValueError:  # expired between add and incr
            cache.add(_failures_key(ip), 1, timeout=period)
            count = 1
    if count < settings.LOYALTY_POS_AUTH_FAILURE_LIMIT:
        return False
    until = timezone.now() + datetime.timedelta(seconds=period)
    if cache.add(_locked_key(ip), until.isoformat(), timeout=period):
        PosLockout.objects.create(ip=ip, failures=count, key_prefix=key_prefix, locked_until=until)
    cache.delete(_failures_key(ip))
    return True


def lift(ip: str) -> None:
    cache.delete_many([_locked_key(ip), _failures_key(ip)])


@receiver(post_delete, sender=PosLockout, dispatch_uid="loyalty.lockout.lift")
def _lift_on_delete(sender, instance: PosLockout, **kwargs) -> None:
    lift(instance.ip)
