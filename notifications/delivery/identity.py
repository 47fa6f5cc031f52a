"""Who a message is from: the sender identity of the customer's home store, else of their country,
else the BRAND_* settings (issue 17). The identities are few: read once per process and cached."""

from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.signals import setting_changed

from config.table_cache import TableCache
from notifications.models import SenderIdentity


@dataclass(frozen=True)
class Sender:
    name: str
    sms_sender_id: str
    from_email: str  # the From header, name included
    contact_email: str
    support_phone: str
    postal_optout_address: str


def _identities() -> tuple[dict[int, Sender], dict[str, Sender]]:
    by_store, by_country = {}, {}
    for identity in SenderIdentity.objects.all():
        sender = Sender(
            name=identity.sender_name,
            sms_sender_id=identity.sms_sender_id,
            from_email=f"{identity.sender_name} <{identity.from_email}>",
            contact_email=identity.contact_email,
            support_phone=identity.support_phone,
            postal_optout_address=identity.postal_optout_address,
        )
        if identity.store_id:
            by_store[identity.store_id] = sender
        else:
            by_country[identity.country.upper()] = sender
    return by_store, by_country


_SENDERS = TableCache("notifications.senders", _identities, models=(SenderIdentity,))


@lru_cache(maxsize=1)
def default_sender() -> Sender:
    """The BRAND_* settings as a sender (built once: the dispatcher asks for it per message)."""
    return Sender(
        name=settings.BRAND_NAME,
        sms_sender_id=settings.BRAND_SMS_SENDER_ID,
        from_email=settings.DEFAULT_FROM_EMAIL,
        contact_email=settings.BRAND_CONTACT_EMAIL,
        support_phone=settings.BRAND_CONTACT_PHONE,
        postal_optout_address=settings.BRAND_POSTAL_OPTOUT_ADDRESS,
    )


def sender_for(customer) -> Sender:
    """The identity a message to ``customer`` goes out under (no query once the cache is warm)."""
    by_store, by_country = _SENDERS.get()
    return by_store.get(customer.home_store_id) or by_country.get((customer.country or "").upper()) or default_sender()


def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting.startswith("BRAND_") or setting == "DEFAULT_FROM_EMAIL":
        default_sender.cache_clear()


setting_changed.connect(_settings_changed, dispatch_uid="notifications.delivery.identity")
