"""Opaque tokens for links in messages: no ids or personal data in URLs, readable or not.

Every app's customer pages read them (preference centre, unsubscribe, dispute, surveys); raising
a customer's ``token_version`` revokes every link already sent to that customer.

A token is authenticated encryption (AES-SIV, RFC 5297, from ``cryptography``) of a compact binary
payload: when it was made, then its fields (a customer's public id as 16 raw bytes, integers as
varints, short strings). The purpose is bound as associated data, so a token made for one page
never opens another. The key comes from ``SECRET_KEY``; tokens made under a key in
``SECRET_KEY_FALLBACKS`` are still read, so keys rotate the way Django's own signing does.
AES-SIV needs no nonce in the token (it is deterministic and misuse resistant; the issue time makes
each token unique anyway), which keeps SMS links short.

Links sent before the tokens became opaque were ``django.core.signing`` values; they are read (never
written) until they expire. They always contain a ':', which the new alphabet (base64url) never does.
"""

import base64
import binascii
import time
import uuid
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core import signing

from crm.models import Customer

# Unsubscribe links must keep working for at least 60 days (RFC 8058 recipients come back late).
MAX_AGE = {
    "unsubscribe": 60 * 60 * 24 * 90,
    "preferences": 60 * 60 * 24 * 90,
    "dispute": 60 * 60 * 24 * 90,
    "survey-confirm": 60 * 60 * 24 * 7,
    "survey": 60 * 60 * 24 * 90,
    "why": 60 * 60 * 24 * 90,
    "offer": 60 * 60 * 24 * 90,
}

FORMAT = 1  # the token's first byte; a later layout gets a new number and both are read for a while
HEADER = bytes([FORMAT])

# A field is one byte, (its key's index here << 2) | its type, then its value. Append new keys at
# the end, never reorder or remove one: tokens already sent name their keys by index.
KEYS = ("c", "v", "t", "ch", "n", "tx", "s", "r")
_INDEX = {key: index for index, key in enumerate(KEYS)}
_INT, _STR, _UUID = 0, 1, 2


class _Malformed(ValueError):
    pass


def customer_token(purpose: str, customer: Customer, **data) -> str:
    """A token for one customer; raising the customer's token_version revokes all of them."""
    return make_token(purpose, c=customer.public_id, v=customer.token_version, **data)


def read_customer_token(purpose: str, token: str) -> tuple[Customer, dict] | None:
    """(customer, data) for a valid, unrevoked token; None for anything else, all alike."""
    data = read_token(purpose, token)
    if not data:
        return None
    try:
        public_id = uuid.UUID(str(data.get("c")))
    except ValueError:
        return None
    customer = Customer.objects.filter(public_id=public_id, is_active=True).first()
    if customer is None or data.get("v", 0) != customer.token_version:
        return None
    return customer, data


def make_token(purpose: str, **data) -> str:
    """An opaque token carrying ``data`` (values: non-negative ints, short strings, UUIDs)."""
    if purpose not in MAX_AGE:
        raise ValueError(f"unknown token purpose {purpose!r}")
    plain = int(time.time()).to_bytes(4, "big") + _encode(data)
    sealed = _cipher(settings.SECRET_KEY).encrypt(plain, _associated(purpose, HEADER))
    return base64.urlsafe_b64encode(HEADER + sealed).rstrip(b"=").decode("ascii")


def read_token(purpose: str, token: str) -> dict | None:
    """The token's data, or None when it is tampered with, unknown or expired (all the same)."""
    if ":" in token:
        return _read_signed(purpose, token)
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) < 2 or raw[0] != FORMAT:
        return None
    header, sealed = raw[:1], raw[1:]
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        try:
            plain = _cipher(secret).decrypt(sealed, _associated(purpose, header))
            break
        except InvalidTag:
            continue
    else:
        return None
    if len(plain) < 4 or time.time() - int.from_bytes(plain[:4], "big") > MAX_AGE[purpose]:
        return None
    try:
        return _decode(plain[4:])
    except _Malformed:
        return None


def _read_signed(purpose: str, token: str) -> dict | None:
    """A link of the signed (readable) format sent before tokens became opaque; read until it expires.

    The salt keeps the prefix of the app that first signed these links.
    """
    try:
        return signing.loads(token, salt=f"notifications.{purpose}", max_age=MAX_AGE[purpose])
    except signing.BadSignature:
        return None


def _associated(purpose: str, header: bytes) -> list[bytes]:
    return [b"crm.links.tokens", purpose.encode(), header]


@lru_cache(maxsize=8)
def _cipher(secret: str) -> AESSIV:
    # 64 bytes: AES-256-SIV (one half authenticates, the other encrypts).
    key = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"crm.links.tokens").derive(secret.encode())
    return AESSIV(key)


def _varint(number: int) -> bytes:
    if number < 0x80:
        return bytes((number,))
    out = bytearray()
    while True:
        byte, number = number & 0x7F, number >> 7
        out.append(byte | (0x80 if number else 0))
        if not number:
            return bytes(out)


def _encode(data: dict) -> bytes:
    out = bytearray()
    for key, value in data.items():
        index = _INDEX.get(key)
        if index is None:
            raise ValueError(f"token field {key!r}: not a field the format knows")
        if isinstance(value, uuid.UUID):
            out.append(index << 2 | _UUID)
            out += value.bytes
        elif isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            out.append(index << 2 | _INT)
            out += _varint(value)
        elif isinstance(value, str):
            encoded = value.encode()
            out.append(index << 2 | _STR)
            out += _varint(len(encoded))
            out += encoded
        else:
            raise ValueError(f"token field {key}={value!r}: only non-negative ints, strings and UUIDs")
    return bytes(out)


def _decode(raw: bytes) -> dict:
    """The fields; _Malformed for bytes no version of _encode wrote (only a key leak could get here)."""
    data, at = {}, 0

    def varint() -> int:
        nonlocal at
        number = shift = 0
        while True:
            if at >= len(raw) or shift > 63:
                raise _Malformed
            byte = raw[at]
            at += 1
            number |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return number

    while at < len(raw):
        tag = raw[at]
        at += 1
        index, kind = tag >> 2, tag & 3
        if index >= len(KEYS):
            raise _Malformed
        if kind == _INT:
            value = varint()
        elif kind == _STR:
            length = varint()
            if at + length > len(raw):
                raise _Malformed
            try:
                value = raw[at : at + length].decode()
            except UnicodeDecodeError:
                raise _Malformed from None
            at += length
        elif kind == _UUID:
            if at + 16 > len(raw):
                raise _Malformed
            value = uuid.UUID(bytes=raw[at : at + 16])
            at += 16
        else:
            raise _Malformed
        data[KEYS[index]] = value
    return data
