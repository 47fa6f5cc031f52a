"""Recording staff actions (audit.models.AuditEntry)."""

import datetime
import decimal
import uuid
from collections.abc import Iterable, Mapping

from django.db import models
from django.http import HttpRequest

from audit.models import AuditEntry

# Never copied into the trail, whatever the model: a password's hash is not evidence of anything.
NOT_RECORDED = frozenset({"password", "key_hash"})


def plain(value):
    """A value as the audit keeps it: JSON-friendly, a related object by its primary key."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, models.QuerySet | list | tuple | set | frozenset):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time | decimal.Decimal | uuid.UUID):
        return value.isoformat() if hasattr(value, "isoformat") else str(value)
    return str(value)


def client_ip(request: HttpRequest) -> str | None:
    # The address the request came from as the server saw it; a proxy in front sets REMOTE_ADDR
    # through its own configuration, never from a header the client can write.
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    request: HttpRequest,
    action: str,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    changes: Mapping | None = None,
) -> AuditEntry:
    """One staff action, by the request's user: on ``obj``, or on what ``object_type``/``object_id`` name."""
    user = request.user
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk or "")
        object_repr = object_repr or str(obj)
    return AuditEntry.objects.create(
        actor=user if user.is_authenticated else None,
        actor_username=user.get_username() if user.is_authenticated else "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        changes=plain(dict(changes or {})),
        ip=client_ip(request),
    )


def audit_record_many(*, request: HttpRequest, action: str, objects: Iterable[models.Model], changes=None) -> None:
    """One entry per object, written in one statement."""
    user = request.user
    ip = client_ip(request)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=user,
            actor_username=user.get_username(),
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            changes=plain(dict(changes or {})),
            ip=ip,
        )
        for obj in objects
    )


def form_changes(form) -> dict[str, list]:
    """{field: [before, after]} of a model form's changed fields."""
    changes = {}
    for name in form.changed_data:
        if name in NOT_RECORDED:
            continue
        field = form.fields.get(name)
        before = form.initial.get(name)
        if field is not None and hasattr(field, "queryset") and before is not None:
            before = plain(before)
        after = form.cleaned_data.get(name)
        changes[name] = [plain(before), plain(after)]
    return changes


def instance_values(obj: models.Model) -> dict[str, list]:
    """[None, value] of each concrete field of a new object, for an "added" entry."""
    return {
        field.name: [None, plain(field.value_from_object(obj))]
        for field in obj._meta.concrete_fields
        if not field.primary_key and field.name not in NOT_RECORDED
    }


def audit_record_each(*, request: HttpRequest, action: str, items: Iterable[tuple[models.Model, Mapping]]) -> None:
    """One entry per (object, its changes), written in one statement (an import's rows)."""
    user = request.user
    ip = client_ip(request)
    AuditEntry.objects.bulk_create(
        AuditEntry(
            actor=user,
            actor_username=user.get_username(),
            action=action,
            object_type=obj._meta.label_lower,
            object_id=str(obj.pk),
            object_repr=str(obj)[:200],
            changes=plain(dict(changes)),
            ip=ip,
        )
        for obj, changes in items
    )
