"""Small tables read on every request (tiers, earning rules, topics, POS keys), kept per process.

A POS purchase must not spend a database round trip on configuration staff change a few times a
year. Each ``TableCache`` loads its value on first use and keeps it for ``TABLE_CACHE_SECONDS``
(default 30); saving or deleting a row of one of its models clears it at once in this process,
and other processes (gunicorn workers, Celery) see the change when their copy ages out. So a
change made in the admin, a revoked POS key included, takes effect everywhere within that time.
"""

import threading
import time
from collections.abc import Callable, Hashable

from django.conf import settings
from django.db.models.signals import post_delete, post_save

_all: list["TableCache"] = []


class TableCache:
    def __init__(self, name: str, load: Callable, *, models: tuple = ()):
        """``models``: classes or "app_label.Model" labels whose saves and deletes clear this cache."""
        self.name = name
        self._load = load
        self._models = models
        self._values: dict[Hashable, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._connected = False
        _all.append(self)

    def get(self, key: Hashable = None):
        self._connect()
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        value = self._load(key) if key is not None else self._load()
        with self._lock:
            if len(self._values) > 10_000:  # a bound for per-key caches (POS keys): start again
                self._values.clear()
            self._values[key] = (now + settings.TABLE_CACHE_SECONDS, value)
        return value

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._values.clear()

    def _connect(self) -> None:
        if self._connected:
            return
        from django.apps import apps

        for model in self._models:
            if isinstance(model, str):
                model = apps.get_model(model)
            uid = f"table_cache.{self.name}.{model._meta.label}"
            post_save.connect(self.clear, sender=model, dispatch_uid=f"{uid}.save", weak=False)
            post_delete.connect(self.clear, sender=model, dispatch_uid=f"{uid}.delete", weak=False)
        self._connected = True


def clear_all() -> None:
    """Forget every cached table in this process (tests call it between tests: rollbacks send no signals)."""
    for cache in _all:
        cache.clear()
