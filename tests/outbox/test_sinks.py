"""The development sinks as scripts/run starts them: `logicrm mailbox` and `logicrm webhook-sink` run as real
processes on free ports, and `logicrm webhooks add` registers a receiver whose secret the sink accepts."""

from __future__ import annotations

import json
import mailbox
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from pathlib import Path

import pytest

from logicrm.outbox import receivers, sinks, webhooks
from logicrm.outbox import service as outbox
from tests.outbox.servers import free_port

WAIT_S = 15


def _wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"exited with {process.returncode}: {process.stderr.read()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {WAIT_S} s")


@pytest.fixture
def start(tmp_path):
    """Start `logicrm <args>` and wait until it listens on `port`; SIGTERM it at the end, expecting exit 0."""
    processes: list[subprocess.Popen] = []
    env = {**os.environ, "LOGICRM_INSTANCE_PATH": str(tmp_path / "instance")}

    def _start(*args: str, port: int) -> subprocess.Popen:
        command = [str(Path(sys.executable).with_name("logicrm")), *args]
        process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        _wait_for_port(port, process)
        return process

    yield _start
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        _out, err = process.communicate(timeout=WAIT_S)
        assert process.returncode == 0, err
        assert "SIGTERM received, stopped" in err and "Traceback" not in err


def _post(port: int, body: bytes, headers: dict) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hooks", data=body, method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _signed(secret: str, message_id: str, body: bytes, *, timestamp: int | None = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": webhooks.sign(secret, message_id=message_id, timestamp=timestamp, body=body),
    }


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_mailbox_keeps_each_message_it_receives_in_a_maildir(start, tmp_path):
    port, maildir = free_port(), tmp_path / "mail"
    start("mailbox", "--port", str(port), "--dir", str(maildir), port=port)

    message = EmailMessage()
    message["From"] = "LogiCRM <alerts@logicrm.invalid>"
    message["To"] = "li.wei@example.com"
    message["Subject"] = "LogiCRM: 2 churn-risk alerts on 1 account (2 new, 0 worsened)"
    message["Message-ID"] = "<digest-run1-abc@logicrm>"
    message.set_content("上海ABC物流 (VIP, customer 7)\n  [HIGH] risk_high (opened)\n", charset="utf-8")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as smtp:
        smtp.send_message(message)

    [stored] = mailbox.Maildir(maildir, create=False)
    assert stored["Subject"] == message["Subject"]
    assert stored["Message-ID"] == "<digest-run1-abc@logicrm>"
    assert stored["X-RcptTo"] == "li.wei@example.com"  # the envelope, added by aiosmtpd
    assert "上海ABC物流" in stored.get_payload(decode=True).decode("utf-8")


def test_webhook_sink_appends_a_signed_event_once_and_refuses_bad_signatures(start, tmp_path):
    port, events = free_port(), tmp_path / "webhooks.jsonl"
    secret = receivers.new_secret()
    secret_file = tmp_path / "sink.secret"
    secret_file.write_text(secret + "\n")
    start(
        "webhook-sink",
        "--port",
        str(port),
        "--file",
        str(events),
        "--secret-file",
        str(secret_file),
        port=port,
    )

    body = json.dumps({"type": "alert.opened", "timestamp": "2024-05-01T02:00:00", "data": {"alert_id": 1}})
    headers = _signed(secret, "msg_alert-1-opened-run1-to-1", body.encode())
    assert _post(port, body.encode(), headers) == 204
    assert _post(port, body.encode(), headers) == 204  # a retry of the same delivery: not appended again

    forged = _signed(receivers.new_secret(), "msg_forged", body.encode())
    tampered = {**headers, "webhook-id": "msg_alert-2-opened-run1-to-1"}
    stale = _signed(secret, "msg_stale", body.encode(), timestamp=int(time.time()) - 3600)
    unsigned = {"Content-Type": "application/json"}
    assert [_post(port, body.encode(), h) for h in (forged, tampered, stale, unsigned)] == [401] * 4

    assert _lines(events) == [
        {
            "webhook-id": "msg_alert-1-opened-run1-to-1",
            "type": "alert.opened",
            "timestamp": "2024-05-01T02:00:00",
            "data": {"alert_id": 1},
        }
    ]


def test_webhook_sink_remembers_the_ids_already_in_its_file(tmp_path):
    secret, events = receivers.new_secret(), tmp_path / "webhooks.jsonl"
    body = json.dumps({"type": "alert.opened", "data": {}}).encode()
    first = sinks.WebhookSink(secret=secret, path=events, port=0)
    assert first.handle(_signed(secret, "msg_1", body), body) == (204, "received")
    first.stop()

    again = sinks.WebhookSink(secret=secret, path=events, port=0)
    try:
        assert again.handle(_signed(secret, "msg_1", body), body) == (204, "duplicate")
        assert again.handle(_signed(secret, "msg_2", body), body) == (204, "received")
    finally:
        again.stop()
    assert [line["webhook-id"] for line in _lines(events)] == ["msg_1", "msg_2"]


@pytest.mark.parametrize("secret", ["not-a-secret", "whsec_!!!", "whsec_"])
def test_webhook_sink_refuses_a_malformed_secret(secret, tmp_path):
    with pytest.raises(ValueError):
        sinks.WebhookSink(secret=secret, path=tmp_path / "webhooks.jsonl", port=0)


def test_webhooks_add_prints_a_secret_the_sink_accepts(app, db, tmp_path):
    settings = app.config["LOGICRM"].replace(webhook_allow_private=True)
    app.config["LOGICRM"] = settings
    port = free_port()
    url = f"http://127.0.0.1:{port}/hooks"

    result = app.test_cli_runner().invoke(args=["webhooks", "add", "--url", url, "--description", "local"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("whsec_") and secret not in result.stderr
    assert f"for {url}" in result.stderr

    sink = sinks.WebhookSink(secret=secret, path=tmp_path / "webhooks.jsonl", port=port)
    sink.start()
    try:
        with db.session_scope() as session:
            [receiver] = session.scalars(receivers.list_statement()).all()
            assert (receiver.url, receiver.description) == (url, "local")
            outbox.enqueue_test(session, receiver=receiver, settings=settings)
        assert outbox.flush(db, settings) == {"sent": 1, "failed": 0, "dead": 0}
    finally:
        sink.stop()
    [event] = _lines(tmp_path / "webhooks.jsonl")
    assert event["type"] == "webhook.test" and event["webhook-id"].startswith("msg_test-")


def test_webhooks_add_refuses_a_loopback_url_unless_allowed(app, db):
    result = app.test_cli_runner().invoke(args=["webhooks", "add", "--url", "http://127.0.0.1:9/hooks"])
    assert result.exit_code == 1
    assert "url: host 127.0.0.1 resolves to loopback address 127.0.0.1" in result.stderr
    assert result.stdout == ""
