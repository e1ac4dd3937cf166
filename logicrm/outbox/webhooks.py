"""Webhook receivers: registration, destination safety checks and Standard Webhooks signatures.

Every event is POSTed as JSON with three headers (https://www.standardwebhooks.com/):

    webhook-id         stable across retries of one delivery: deduplicate on it
    webhook-timestamp  unix seconds when this attempt was sent
    webhook-signature  "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>"; the key is the base64-decoded
                       part of the receiver's secret after "whsec_"

A receiver checks a request with `verify_signature(secret, request.headers, raw_body)`, which also refuses
timestamps outside a tolerance (replays), and then skips webhook-ids it has already processed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import socket
import string
import time
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from logicrm.config import Settings
from logicrm.errors import NotFound, field_error
from logicrm.outbox.models import WebhookReceiver

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300


class InvalidSignature(ValueError):
    """A webhook request whose headers or signature do not check out."""


class UnsafeDestination(ValueError):
    """A webhook URL that must not be called (bad scheme, unresolvable, or a non-public address)."""


@dataclass(frozen=True)
class Destination:
    """A checked webhook URL and the address to connect to (pinned, so DNS cannot change it afterwards)."""

    url: str
    host: str
    port: int
    address: str


# Service ------------------------------------------------------------------------------------------------


def create_receiver(
    session: Session, *, url: str, description: str | None = None, active: bool = True, settings: Settings
) -> tuple[WebhookReceiver, str]:
    """Register a receiver after checking its URL; return it and its secret (shown this once)."""
    _check_url_field(url, settings)
    secret = new_secret()
    receiver = WebhookReceiver(url=url, secret=secret, description=description, active=active)
    session.add(receiver)
    session.flush()
    return receiver, secret


def get_receiver(session: Session, *, receiver_id: int) -> WebhookReceiver:
    """Return one receiver or raise NotFound."""
    receiver = session.get(WebhookReceiver, receiver_id)
    if receiver is None:
        raise NotFound(f"webhook receiver {receiver_id} not found")
    return receiver


def list_receivers(*, active: bool | None = None) -> Select:
    """Return the statement listing receivers, oldest first (the caller paginates)."""
    statement = select(WebhookReceiver).order_by(WebhookReceiver.id)
    if active is not None:
        statement = statement.where(WebhookReceiver.active == active)
    return statement


def update_receiver(
    session: Session, receiver: WebhookReceiver, changes: Mapping, *, settings: Settings
) -> WebhookReceiver:
    """Change a receiver's url, description or active flag; a new URL is checked like a new receiver's."""
    if "url" in changes and changes["url"] != receiver.url:
        _check_url_field(changes["url"], settings)
    for name in ("url", "description", "active"):
        if name in changes:
            setattr(receiver, name, changes[name])
    session.flush()
    return receiver


def delete_receiver(session: Session, receiver: WebhookReceiver) -> None:
    """Delete a receiver; its deliveries go with it (the foreign key cascades)."""
    session.delete(receiver)
    session.flush()


def new_secret() -> str:
    """Return a fresh signing secret in the Standard Webhooks form whsec_<base64>."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


# URL safety --------------------------------------------------------------------------------------------


def check_destination(url: str, settings: Settings) -> Destination:
    """Check a webhook URL and resolve it; raise UnsafeDestination with the reason when it may not be called.

    https only in production; the host must resolve, and every address it resolves to must be public
    unless settings.webhook_allow_private (a host resolving to one public and one private address is
    refused: the connection could go to either).
    """
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeDestination(f"not a valid URL: {error}") from None
    allowed = ("https",) if settings.env == "production" else ("http", "https")
    if parts.scheme not in allowed:
        raise UnsafeDestination(
            "must use https" if parts.scheme == "http" else "must be an http or https URL"
        )
    if not parts.hostname:
        raise UnsafeDestination("has no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("must not carry credentials; authenticate with the signature")
    if _odd_ipv4_spelling(parts.hostname):
        raise UnsafeDestination(
            f"host {parts.hostname} reads as an IPv4 address: write it as four decimal numbers, a.b.c.d"
        )
    port = port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as error:
        raise UnsafeDestination(f"host {parts.hostname} does not resolve ({error})") from None
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not addresses:
        raise UnsafeDestination(f"host {parts.hostname} does not resolve")
    if not settings.webhook_allow_private:
        for address in addresses:
            problem = address_problem(address)
            if problem:
                raise UnsafeDestination(f"host {parts.hostname} resolves to {problem}")
    return Destination(url=url, host=parts.hostname, port=port, address=addresses[0])


# NAT64's local-use prefix (RFC 8215): never global.
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
# Prefixes whose last 32 bits are an IPv4 address: IPv4-compatible (RFC 4291; :: and ::1 excepted), SIIT's
# IPv4-translated (RFC 2765) and NAT64 (RFC 6052; the local-use prefix may place the address elsewhere,
# but none of it is global). IPv4-mapped, 6to4 and Teredo have accessors of their own.
_LAST_32_BITS_IPV4 = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
    ipaddress.IPv6Network("64:ff9b::/96"),
    _NAT64_LOCAL,
)


def address_problem(address: str) -> str | None:
    """Describe what makes an IP address unfit for webhooks ("loopback address 127.0.0.1"), or return None
    if it is public.

    An IPv6 address that carries an IPv4 one (IPv4-mapped or -compatible, SIIT, 6to4, NAT64, Teredo) is
    a way to reach that IPv4 address, so it is judged by the IPv4 address first, then by itself unless
    IPv4-mapped (::ffff:a.b.c.d is a.b.c.d, written for an IPv6 socket).
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    for embedded in _embedded_ipv4(ip):
        kind = _kind_of_non_public(embedded)
        if kind:
            return f"address {ip} embedding {kind} address {embedded}"
    if ip.version == 6 and ip.ipv4_mapped is not None:
        return None
    kind = _kind_of_non_public(ip)
    return f"{kind} address {ip}" if kind else None


def _kind_of_non_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    for flag in ("unspecified", "loopback", "link_local", "multicast", "reserved", "private"):
        if getattr(ip, f"is_{flag}"):
            return flag.replace("_", "-")
    # e.g. 100.64.0.0/10 (carrier-grade NAT) or NAT64's local-use prefix (RFC 8215)
    if not ip.is_global or ip in _NAT64_LOCAL:
        return "non-global"
    return None


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (none for an IPv4 address or a native IPv6 one)."""
    if ip.version == 4:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]  # Teredo: server, then de-obfuscated client
    if int(ip) > 1 and any(ip in network for network in _LAST_32_BITS_IPV4):
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return [address for address in found if address is not None]


def _odd_ipv4_spelling(host: str) -> bool:
    """Whether a host name reads as an IPv4 address (its last label is a number, as URL parsers and
    inet_aton see it) without being one in dotted decimal: 2130706433, 0177.0.0.1, 127.1, 0x7f.1.

    Such spellings mean different addresses to different parsers (0177 is octal to inet_aton, decimal
    to others), so they are refused rather than resolved.
    """
    if ":" in host:  # an IPv6 literal: parsed strictly
        return False
    last = host.rstrip(".").rsplit(".", 1)[-1].lower()
    numeric = last.isdigit() or (last.startswith("0x") and all(c in string.hexdigits for c in last[2:]))
    if not numeric:
        return False
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return True
    return False


def _check_url_field(url: str, settings: Settings) -> None:
    try:
        check_destination(url, settings)
    except UnsafeDestination as error:
        raise field_error("url", str(error)) from None


# Signatures --------------------------------------------------------------------------------------------


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def sign(secret: str, *, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the webhook-signature header value for one request."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return f"{SIGNATURE_VERSION},{base64.b64encode(digest).decode()}"


def verify_signature(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    *,
    now: float | None = None,
) -> str:
    """Check a received webhook's signature and timestamp; return its webhook-id or raise InvalidSignature.

    `headers` may be any mapping (names are matched case-insensitively); `body` is the raw request body,
    exactly as received. Several space-separated signatures are accepted (secret rotation).
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        message_id = lowered["webhook-id"]
        timestamp_raw = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as missing:
        raise InvalidSignature(f"missing header {missing.args[0]}") from None
    try:
        timestamp = int(timestamp_raw)
    except ValueError:
        raise InvalidSignature("webhook-timestamp is not an integer") from None
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance_s:
        raise InvalidSignature("webhook-timestamp outside the tolerance (replayed or clock skew)")
    body = body.encode() if isinstance(body, str) else body
    expected = sign(secret, message_id=message_id, timestamp=timestamp, body=body).encode()
    for candidate in signatures.split():
        if hmac.compare_digest(candidate.encode(), expected):
            return message_id
    raise InvalidSignature("no signature matches")
