"""Real servers for delivery tests: an SMTP server (aiosmtpd) and a webhook receiver (http.server).

Both listen on 127.0.0.1 on a free port, run in background threads, and record what they received.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import random
import socket
import ssl
import subprocess
import threading
from collections import Counter
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from logicrm.outbox.webhooks import InvalidSignature, verify_signature


def _own_ports() -> range:
    """Ports this process may pick: below the kernel's ephemeral range, where no bind(0) and no outgoing
    connection of another process lands, and split between pytest-xdist workers (gw0, gw1, ...) so that
    two workers never pick the same one."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as ranges:
            ephemeral = int(ranges.read().split()[0])
    except OSError:  # not Linux: the usual lower bound
        ephemeral = 32768
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    worker = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    share = (ephemeral - 10_000) // workers
    return range(10_000 + worker * share, 10_000 + (worker + 1) * share)


def free_port() -> int:
    """A port nothing listens on, for a server told its port before it starts (a subprocess given --port,
    the SMTP server started again on the same port). Unlike bind(0), the port stays free meanwhile."""
    ports = _own_ports()
    for port in random.sample(ports, 50):  # random: other runs on this host pick from the same range
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise AssertionError(f"no free port among 50 tried in {ports}")


def self_signed_certificate(directory) -> tuple[str, str]:
    """Write a throw-away certificate for 127.0.0.1 and localhost with the openssl CLI; return (cert, key)."""
    cert, key = f"{directory}/cert.pem", f"{directory}/key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


class SmtpServer:
    """An aiosmtpd server collecting parsed messages; stop() and start() again keep the same port."""

    def __init__(self):
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.refuse: dict[str, str] = {}  # recipient -> the SMTP reply refusing it ("550 5.1.1 ...")
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_RCPT(self, _server, _session, envelope, address, _options):  # aiosmtpd handler hook
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server, _session, envelope):  # aiosmtpd handler hook
        message = email.message_from_bytes(
            envelope.original_content or envelope.content, policy=email.policy.default
        )
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def start(self) -> SmtpServer:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port, enable_SMTPUTF8=True)
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        """Messages whose To header is `address`."""
        with self._lock:
            return [message for message in self.messages if message["To"] == address]


class WebhookServer:
    """A threaded HTTP receiver that checks Standard Webhooks signatures and deduplicates by webhook-id.

    With `fail_rate`, that share of signed requests (drawn from a seeded generator) answers 500; half of
    those fail before the event is processed and half after (the response was lost), which is what makes
    receivers see duplicates and deduplicate.
    """

    def __init__(
        self, *, secret: str | None = None, fail_rate: float = 0.0, seed: int = 0, tls: tuple | None = None
    ):
        self.secret = secret
        self.receiver_id: int | None = None  # set by the test that registers it
        self.fail_rate = fail_rate
        self.gone = False  # answer 410 Gone, as a receiver that was shut down for good
        self.requests = 0
        self.rejected: list[str] = []  # reasons signatures failed
        self.received: list[tuple[str, dict]] = []  # every processed (webhook-id, body), duplicates included
        self.events: dict[str, dict] = {}  # first body per webhook-id: exactly once
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        if tls:  # (certfile, keyfile): serve https
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}/hooks/logicrm"
        self._thread: threading.Thread | None = None

    def start(self) -> WebhookServer:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def delivery_counts(self) -> Counter:
        """How many times each webhook-id was processed."""
        with self._lock:
            return Counter(message_id for message_id, _body in self.received)

    def _handle(self, headers, body: bytes) -> int:
        with self._lock:
            self.requests += 1
            try:
                message_id = verify_signature(self.secret, headers, body)
            except InvalidSignature as error:
                self.rejected.append(str(error))
                return 401
            if self.gone:
                return 410
            fail = self._random.random() < self.fail_rate
            after = self._random.random() < 0.5
            if fail and not after:
                return 500
            self.received.append((message_id, json.loads(body)))
            self.events.setdefault(message_id, json.loads(body))
            return 500 if fail else 204

    def _handler(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status = receiver._handle(self.headers, body)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args):
                pass

        return Handler
