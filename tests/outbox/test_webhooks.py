"""Webhooks out: Standard Webhooks signatures, which destinations may be called, and the HTTP client against
real receivers (410 Gone is final, the destination is checked again at send time, TLS is verified)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import time

import pytest

from logicrm.config import Settings
from logicrm.db import utcnow
from logicrm.outbox import receivers, webhooks
from logicrm.outbox import service as outbox
from logicrm.outbox.models import Channel, DeliveryStatus
from logicrm.outbox.webhooks import InvalidSignature, UnsafeDestination
from tests.outbox.alerts import PORTFOLIO, deliveries, enqueue, raise_alerts
from tests.outbox.servers import WebhookServer, self_signed_certificate

# The published Standard Webhooks / Svix test vector: a receiver library must accept what we send.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

DEV = Settings(env="development")
PRODUCTION = Settings(env="production")
ALLOW_PRIVATE = Settings(webhook_allow_private=True)


def signed_headers(secret, *, message_id="msg_1", timestamp=None, body=b"{}"):
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def test_signature_matches_the_standard_webhooks_test_vector():
    assert (
        webhooks.sign(VECTOR_SECRET, message_id=VECTOR_ID, timestamp=VECTOR_TIMESTAMP, body=VECTOR_BODY)
        == VECTOR_SIGNATURE
    )
    headers = {
        "Webhook-Id": VECTOR_ID,
        "Webhook-Timestamp": str(VECTOR_TIMESTAMP),
        "Webhook-Signature": f"v1,bm9wZQ== {VECTOR_SIGNATURE}",  # any of several (key rotation)
    }
    assert (
        webhooks.verify_signature(VECTOR_SECRET, headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10) == VECTOR_ID
    )


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (lambda h, b: (h, b + b" "), "no signature matches"),
        (lambda h, b: ({**h, "webhook-id": "msg_2"}, b), "no signature matches"),
        (lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b), "no signature"),
        (lambda h, b: ({**h, "webhook-signature": "v1,AAAA"}, b), "no signature matches"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "webhook-id"}, b), "missing header webhook-id"),
        (lambda h, b: ({**h, "webhook-timestamp": "soon"}, b), "not an integer"),
    ],
)
def test_tampered_requests_are_refused(tamper, reason):
    secret = receivers.new_secret()
    headers, body = tamper(signed_headers(secret, body=b'{"a":1}'), b'{"a":1}')
    with pytest.raises(InvalidSignature, match=reason):
        webhooks.verify_signature(secret, headers, body)


def test_wrong_secret_and_stale_timestamps_are_refused():
    secret = receivers.new_secret()
    with pytest.raises(InvalidSignature, match="no signature matches"):
        webhooks.verify_signature(receivers.new_secret(), signed_headers(secret), b"{}")
    stale = signed_headers(secret, timestamp=int(time.time()) - 301)
    with pytest.raises(InvalidSignature, match="tolerance"):
        webhooks.verify_signature(secret, stale, b"{}")
    assert webhooks.verify_signature(secret, stale, "{}", tolerance_s=600) == "msg_1"


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://localhost/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://172.16.0.9/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://[fd00::1]/hook", "private"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://240.0.0.1/hook", "reserved"),
        ("http://100.64.0.1/hook", "non-global"),
        ("http://host.invalid/hook", "does not resolve"),
        ("ftp://93.184.215.14/hook", "must be an http or https URL"),
        ("93.184.215.14/hook", "must be an http or https URL"),
        ("http:///hook", "has no host"),
        ("http://93.184.215.14:99999/hook", "not a valid URL"),
        ("http://user:pw@93.184.215.14/hook", "credentials"),
    ],
)
def test_non_public_or_malformed_destinations_are_refused(url, reason):
    with pytest.raises(UnsafeDestination, match=reason):
        webhooks.check_destination(url, DEV)


# Non-public IPv4 addresses of every kind, and every IPv6 form that leads to an IPv4 address.
NON_PUBLIC_IPV4 = {
    "127.0.0.1": "loopback",
    "127.255.0.9": "loopback",
    "10.1.2.3": "private",
    "172.16.0.9": "private",
    "192.168.1.20": "private",
    "0.1.2.3": "private",  # "this network"
    "169.254.169.254": "link-local",  # cloud metadata
    "224.0.0.1": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "100.64.0.1": "non-global",
}
TEREDO_SERVER = int(ipaddress.IPv4Address("65.54.227.120"))
EMBEDDINGS = {
    "IPv4-mapped ::ffff:a.b.c.d": lambda v4: (0xFFFF << 32) | v4,
    "IPv4-compatible ::a.b.c.d": lambda v4: v4,
    "IPv4-translated ::ffff:0:a.b.c.d": lambda v4: (0xFFFF << 48) | v4,
    "6to4 2002:wwxx:yyzz::": lambda v4: (0x2002 << 112) | (v4 << 80),
    "NAT64 64:ff9b::a.b.c.d": lambda v4: (0x64FF9B << 96) | v4,
    "NAT64 local use 64:ff9b:1::a.b.c.d": lambda v4: (0x64FF9B0001 << 80) | v4,
    # flags 0x8000, port 0x63bf, client address obfuscated (every bit inverted)
    "Teredo 2001::/32": lambda v4: (
        (0x20010000 << 96) | (TEREDO_SERVER << 64) | (0x800063BF << 32) | (v4 ^ 0xFFFFFFFF)
    ),
}


@pytest.mark.parametrize("form", EMBEDDINGS)
@pytest.mark.parametrize(("ipv4", "kind"), NON_PUBLIC_IPV4.items())
def test_ipv6_forms_are_judged_by_the_ipv4_address_they_embed(form, ipv4, kind):
    ipv6 = ipaddress.IPv6Address(EMBEDDINGS[form](int(ipaddress.IPv4Address(ipv4))))
    assert webhooks.address_problem(ipv4) == f"{kind} address {ipv4}"
    assert webhooks.address_problem(str(ipv6)) == f"address {ipv6} embedding {kind} address {ipv4}"


@pytest.mark.parametrize(
    "url",
    [
        "http://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1, as reported
        "http://[2002:a9fe:a9fe::1]/latest/meta-data",
        "http://[::ffff:0:7f00:1]/hook",
        "http://[::7f00:1]/hook",
        "http://[64:ff9b::7f00:1]:8080/hook",
        "http://[64:ff9b:1::a00:1]/hook",
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook",  # Teredo, client 127.0.0.1
    ],
)
def test_urls_with_an_embedded_non_public_ipv4_address_are_refused(url):
    with pytest.raises(UnsafeDestination, match=r"resolves to address .* embedding .* address"):
        webhooks.check_destination(url, DEV)


def test_public_ipv4_in_ipv6_notation_passes():
    assert webhooks.address_problem("::ffff:93.184.215.14") is None
    assert webhooks.check_destination("http://[::ffff:93.184.215.14]/hook", DEV).port == 80


@pytest.mark.parametrize(
    "host",
    ["2130706433", "0177.0.0.1", "127.1", "0x7f.1", "0x7F000001", "017700000001", "127.0.0.1.",
     "0300.0250.0.1", "10.0.0.256", "１２７.０.０.１", "93.184.215.014"],
)  # fmt: skip
@pytest.mark.parametrize("settings", [DEV, ALLOW_PRIVATE], ids=["dev", "private allowed"])
def test_ipv4_addresses_not_in_dotted_decimal_are_refused_before_resolving(host, settings):
    """Resolvers disagree about these (0177 is octal to inet_aton, decimal to others): none is resolved."""
    with pytest.raises(UnsafeDestination, match=r"write it as four decimal numbers, a\.b\.c\.d"):
        webhooks.check_destination(f"http://{host}/hook", settings)


@pytest.mark.parametrize("host", ["1.2.3.4.invalid", "0x7f.invalid", "127.invalid"])
def test_names_with_numeric_labels_before_the_last_are_names(host):
    with pytest.raises(UnsafeDestination, match=f"host {host} does not resolve"):
        webhooks.check_destination(f"http://{host}/hook", DEV)


def test_public_destinations_pass_and_pin_the_checked_address():
    destination = webhooks.check_destination("http://93.184.215.14:8443/hooks?x=1", DEV)
    assert (destination.host, destination.port, destination.address) == (
        "93.184.215.14",
        8443,
        "93.184.215.14",
    )
    assert webhooks.check_destination("https://[2606:4700:4700::1111]/h", PRODUCTION).port == 443


def test_production_requires_https():
    with pytest.raises(UnsafeDestination, match="must use https"):
        webhooks.check_destination("http://93.184.215.14/hook", PRODUCTION)
    assert webhooks.check_destination("https://93.184.215.14/hook", PRODUCTION).address == "93.184.215.14"


def test_private_destinations_pass_when_allowed():
    assert webhooks.check_destination("http://localhost:9/hook", ALLOW_PRIVATE).address in (
        "127.0.0.1",
        "::1",
    )
    assert webhooks.check_destination("http://10.1.2.3/hook", ALLOW_PRIVATE).address == "10.1.2.3"
    with pytest.raises(UnsafeDestination, match="does not resolve"):
        webhooks.check_destination("http://host.invalid/hook", ALLOW_PRIVATE)


def test_a_receiver_answering_410_gone_is_not_retried(actors, db, settings, receiver):
    receiver.gone = True
    enqueue(db, settings, raise_alerts(db, PORTFOLIO[4:5]))
    assert outbox.flush(db, settings)["dead"] == 1
    (dead,) = deliveries(db, channel=Channel.WEBHOOK)
    assert (dead.status, dead.attempts) == (DeliveryStatus.DEAD, 1) and dead.last_error.startswith("HTTP 410")
    later = utcnow() + dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
    assert outbox.flush(db, settings, now=later) == {"sent": 0, "failed": 0, "dead": 0}
    assert receiver.requests == 1


def test_destination_is_checked_again_at_send_time(actors, db, settings, receiver):
    enqueue(db, settings, raise_alerts(db, PORTFOLIO[4:5]))
    strict = settings.replace(webhook_allow_private=False)
    assert outbox.flush(db, strict)["failed"] == 1
    (refused,) = deliveries(db, channel=Channel.WEBHOOK)
    assert refused.last_error == "destination refused: host 127.0.0.1 resolves to loopback address 127.0.0.1"
    assert receiver.requests == 0


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl CLI to make a certificate")
def test_https_receivers_must_present_a_trusted_certificate(actors, db, settings, tmp_path, monkeypatch):
    cert, key = self_signed_certificate(tmp_path)
    server = WebhookServer(tls=(cert, key)).start()
    try:
        with db.session_scope() as session:
            _receiver, server.secret = receivers.create(session, url=server.url, settings=settings)
        enqueue(db, settings, raise_alerts(db, PORTFOLIO[4:5]))
        webhooks.tls_context.cache_clear()
        assert outbox.flush(db, settings)["failed"] == 1  # an untrusted certificate is refused
        (refused,) = deliveries(db, channel=Channel.WEBHOOK)
        assert "CERTIFICATE_VERIFY_FAILED" in refused.last_error and server.requests == 0

        monkeypatch.setenv("SSL_CERT_FILE", cert)  # now trust it, as a private CA would be
        webhooks.tls_context.cache_clear()
        later = utcnow() + dt.timedelta(seconds=settings.delivery_backoff_max_s + 1)
        assert outbox.flush(db, settings, now=later)["sent"] == 1
        assert list(server.events) == [refused.message_id] and server.rejected == []
    finally:
        webhooks.tls_context.cache_clear()
        server.stop()
