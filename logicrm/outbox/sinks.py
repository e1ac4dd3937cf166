"""Local delivery sinks for development: alert email and webhooks land in files instead of the world.

`logicrm mailbox` is an SMTP server (aiosmtpd) that adds every message it accepts to a Maildir folder;
`logicrm webhook-sink` is an HTTP receiver that checks each request's Standard Webhooks signature (401 when
it does not check out) and appends each event once per webhook-id to a JSON Lines file. `scripts/run`
starts both on loopback so the demo's alerts can be read on disk.

Neither is meant for production: the SMTP server takes any mail from anyone who can reach it, with no
authentication or TLS, and keeps it.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from logicrm import processes

HOST = "127.0.0.1"
MAILBOX_PORT = 8025
MAILBOX_DIR = "mailbox"  # in the instance folder
WEBHOOK_SINK_PORT = 8026
WEBHOOK_SINK_FILE = "webhooks.jsonl"  # in the instance folder
MAX_BODY_BYTES = 1 << 20
SERVE_POLL_S = 0.2  # how soon the HTTP server notices its shutdown

log = logging.getLogger(__name__)


# Mailbox -----------------------------------------------------------------------------------------------


def start_mailbox(directory: str | os.PathLike, *, host: str = HOST, port: int = MAILBOX_PORT):
    """Start an SMTP server on host:port adding each message it accepts to the Maildir `directory`.

    Returns the running aiosmtpd Controller (call `.stop()`); raises OSError when it cannot listen. The
    port must be a real one: aiosmtpd checks that it is serving by connecting to it.
    """
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Mailbox

    for part in ("tmp", "new", "cur"):  # a Maildir; an existing empty folder becomes one too
        (Path(directory) / part).mkdir(parents=True, exist_ok=True)
    controller = Controller(Mailbox(directory), hostname=host, port=port, enable_SMTPUTF8=True)
    controller.start()
    return controller


# Webhook sink ------------------------------------------------------------------------------------------


def check_secret(secret: str) -> str:
    """Return the secret stripped of surrounding whitespace, or raise ValueError if it is no whsec_ secret."""
    from logicrm.outbox import webhooks  # here: `logicrm --help` lists the sinks' options without the ORM

    secret = secret.strip()
    if not secret.startswith(webhooks.SECRET_PREFIX):
        raise ValueError(f"a webhook secret starts with {webhooks.SECRET_PREFIX}")
    try:
        if not base64.b64decode(secret.removeprefix(webhooks.SECRET_PREFIX), validate=True):
            raise ValueError("the webhook secret is empty")
    except binascii.Error:
        raise ValueError(f"the part after {webhooks.SECRET_PREFIX} is not base64") from None
    return secret


class EventLog:
    """Events appended to a JSON Lines file, at most once per webhook-id (ids already in the file count)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._seen: set[str] = set()
        if self.path.exists():
            with self.path.open(encoding="utf-8") as lines:
                for line in lines:
                    try:
                        self._seen.add(json.loads(line)["webhook-id"])
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn or foreign line: skip it, keep the rest
        self._file = self.path.open("a", encoding="utf-8")

    def add(self, message_id: str, body: Mapping) -> bool:
        """Append one event as {"webhook-id", "type", "timestamp", "data"}; False if the id is known."""
        line = json.dumps(
            {
                "webhook-id": message_id,
                "type": body.get("type"),
                "timestamp": body.get("timestamp"),
                "data": body.get("data"),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        with self._lock:
            if message_id in self._seen:
                return False
            self._file.write(line + "\n")
            self._file.flush()
            self._seen.add(message_id)
            return True

    def close(self) -> None:
        with self._lock:
            self._file.close()


class WebhookSink:
    """A threaded HTTP receiver on host:port: POSTs to any path are verified, then logged once per id.

    Answers 204 for a new or an already seen event, 401 for a bad signature or stale timestamp, 400 for a
    body that is not a JSON object, 413 for one over MAX_BODY_BYTES. Port 0 picks a free port (`.port`).
    """

    def __init__(
        self,
        *,
        secret: str,
        path: str | os.PathLike,
        host: str = HOST,
        port: int = WEBHOOK_SINK_PORT,
        tolerance_s: float | None = None,  # webhooks.DEFAULT_TOLERANCE_S
    ):
        from logicrm.outbox import webhooks

        self.secret = check_secret(secret)
        self.tolerance_s = webhooks.DEFAULT_TOLERANCE_S if tolerance_s is None else tolerance_s
        self.events = EventLog(path)
        try:
            self._server = ThreadingHTTPServer((host, port), _handler(self))
        except OSError:
            self.events.close()
            raise
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread: threading.Thread | None = None

    def handle(self, headers: Mapping[str, str], body: bytes) -> tuple[int, str]:
        """Check and log one request; return the HTTP status and a short reason."""
        from logicrm.outbox import webhooks

        try:
            message_id = webhooks.verify_signature(self.secret, headers, body, self.tolerance_s)
        except webhooks.InvalidSignature as error:
            log.warning("webhook rejected: %s", error)
            return 401, str(error)
        try:
            event = json.loads(body)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            return 400, "the body is not a JSON object"
        if not self.events.add(message_id, event):
            log.debug("webhook %s already received", message_id)
            return 204, "duplicate"
        log.debug("webhook %s %s received", message_id, event.get("type"))
        return 204, "received"

    def start(self) -> WebhookSink:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, args=(SERVE_POLL_S,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, wait for the serving thread, and close the file."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()
        self.events.close()


def _handler(sink: WebhookSink) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "LogiCRM-WebhookSink/1"

        def do_POST(self):
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                self._answer(411, "Content-Length required")
                return
            if length > MAX_BODY_BYTES:
                self.close_connection = True
                self._answer(413, f"larger than {MAX_BODY_BYTES} bytes")
                return
            status, reason = sink.handle(self.headers, self.rfile.read(length))
            self._answer(status, reason)

        def _answer(self, status: int, reason: str) -> None:
            body = b"" if status == 204 else (reason + "\n").encode()
            self.send_response(status)
            if body:
                self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args):  # requests are logged by WebhookSink.handle
            pass

    return Handler


# Running until stopped ---------------------------------------------------------------------------------


def serve_until_stopped(stop: Callable[[], None]) -> str:
    """Block until SIGTERM or SIGINT (processes.stopped_by_signals), then call `stop`; return the
    signal's name."""
    with processes.stopped_by_signals() as stopping:
        try:
            stopping.wait()
        finally:
            stop()
    return stopping.signal_name
