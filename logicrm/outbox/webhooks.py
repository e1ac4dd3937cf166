"""Webhooks out: the HTTP client that POSTs events, which destinations it may call, and the signatures.

Every event is POSTed as JSON with three headers (https://www.standardwebhooks.com/):

    webhook-id         stable across retries of one delivery: deduplicate on it
    webhook-timestamp  unix seconds when this attempt was sent
    webhook-signature  "v1,<base64 HMAC-SHA256 of '{id}.{timestamp}.{body}'>"; the key is the base64-decoded
                       part of the receiver's secret after "whsec_"

A receiver checks a request with `verify_signature(secret, request.headers, raw_body)`, which also refuses
timestamps outside a tolerance (replays), and then skips webhook-ids it has already processed.

The client connects to the address that was checked (DNS cannot change it in between), through no proxy,
follows no redirect, and verifies TLS certificates.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import http.client
import ipaddress
import json
import socket
import ssl
import string
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus

from logicrm.config import Settings
from logicrm.outbox.models import Failure

SECRET_PREFIX = "whsec_"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_S = 300
USER_AGENT = "LogiCRM-Webhooks/1"


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


# Sending -----------------------------------------------------------------------------------------------


def send(url: str, *, secret: str, message_id: str, payload: Mapping, settings: Settings) -> Failure | None:
    """POST one signed event; return None when the receiver answered 2xx, or why it failed.

    HTTP 410 Gone is permanent (the receiver says: stop); any other failure is worth retrying.
    """
    try:
        # Checked again at send time: the name may resolve elsewhere now than when it was registered.
        destination = check_destination(url, settings)
    except UnsafeDestination as error:
        return Failure(f"destination refused: {error}")
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    timestamp = int(time.time())
    request = urllib.request.Request(
        destination.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "webhook-id": message_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(secret, message_id=message_id, timestamp=timestamp, body=body),
        },
    )
    try:
        with _opener(destination.address).open(request, timeout=settings.webhook_timeout_s) as response:
            status = response.status
            response.read(4096)
    except urllib.error.HTTPError as error:
        detail = error.read(200).decode("utf-8", "replace").strip()
        reason = f"HTTP {error.code} {error.reason}" + (f": {detail}" if detail else "")
        return Failure(reason, permanent=error.code == HTTPStatus.GONE)
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
        reason = getattr(error, "reason", None)
        return Failure.of("network error", reason if isinstance(reason, BaseException) else error)
    return None if 200 <= status < 300 else Failure(f"HTTP {status}")


@functools.cache
def tls_context() -> ssl.SSLContext:
    """Return the client TLS context shared with SMTP (loading the CA store takes a quarter of a second)."""
    return ssl.create_default_context()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: following it would skip the destination check."""

    def redirect_request(self, *_args, **_kwargs):
        return None


def _pinned(connection_class, address: str):
    """Return a connection class that connects to `address` whatever the host name now resolves to."""

    class Pinned(connection_class):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = lambda target, *rest: socket.create_connection(
                (address, target[1]), *rest
            )

    return Pinned


def _opener(address: str) -> urllib.request.OpenerDirector:
    pinned_http = _pinned(http.client.HTTPConnection, address)
    pinned_https = _pinned(http.client.HTTPSConnection, address)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(pinned_http, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(pinned_https, req, context=tls_context())

    # No proxies from the environment: the connection must go to the address that was checked.
    return urllib.request.build_opener(
        urllib.request.ProxyHandler({}), HTTPHandler(), HTTPSHandler(), _NoRedirect()
    )


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
