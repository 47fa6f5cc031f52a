"""Brute-force limits on POS API keys: an address that fails the key check too often is locked out.

Failures are counted in the cache (a shared one, Redis, in production: ``CACHE_URL``), so a guess
costs no database write; reaching ``LOYALTY_POS_AUTH_FAILURE_LIMIT`` within the lockout period
locks the address for ``LOYALTY_POS_AUTH_LOCKOUT_MINUTES`` and records a ``PosLockout`` row that
administrators see in the admin, where deleting it lifts the lock at once.
"""

import datetime
import ipaddress

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete
from django.dispatch import receiver
from django.utils import timezone

from loyalty.models import PosLockout


def _failures_key(ip: str) -> str:
    return f"pos-auth:failures:{ip}"


def _locked_key(ip: str) -> str:
    return f"pos-auth:locked:{ip}"


def is_locked(ip: str) -> bool:
    return bool(ip) and cache.get(_locked_key(ip)) is not None


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
