"""The SMTP client of the outbox: one connection per flush, and which refusals retrying cannot change."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import formatdate

from logicrm.config import Settings
from logicrm.outbox.models import Failure
from logicrm.outbox.webhooks import tls_context


class Mailer:
    """One SMTP connection for a flush: opened at the first email, reopened after it breaks."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None
        self.down: Failure | None = None  # why connecting failed: the rest of this flush fails fast

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def send(self, *, message_id: str, recipient: str, subject: str | None, text: str) -> Failure | None:
        """Send one plain-text email; return None when the server took it, or why not.

        A 5xx refusal is permanent; a 4xx one (greylisting, a full mailbox) is worth retrying.
        """
        if self.down:
            return self.down
        try:
            if self.smtp is None:
                self.smtp = self._connect()
        except (OSError, smtplib.SMTPException) as error:
            s = self.settings
            self.down = Failure.of(f"SMTP {s.smtp_host}:{s.smtp_port} unavailable", error)
            return self.down
        message = self._message(message_id=message_id, recipient=recipient, subject=subject, text=text)
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _message in error.recipients.values()]
            return Failure.of("SMTP refused", error, permanent=min(codes) >= 500)
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as error:
            return Failure.of("SMTP refused", error, permanent=error.smtp_code >= 500)
        except (OSError, smtplib.SMTPException) as error:
            self.close()  # the connection is unusable; the next email reconnects
            return Failure.of("SMTP failed", error)
        return None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.smtp_security == "ssl":
            smtp = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s, context=tls_context())
        else:
            smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout_s)
        try:
            smtp.ehlo()
            if s.smtp_security == "starttls":
                smtp.starttls(context=tls_context())
                smtp.ehlo()
            if s.smtp_username:
                smtp.login(s.smtp_username, s.smtp_password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _message(self, *, message_id: str, recipient: str, subject: str | None, text: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.settings.smtp_from
        message["To"] = recipient
        message["Subject"] = subject or "LogiCRM"
        message["Message-ID"] = message_id
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: keeps auto-replies away
        message.set_content(text, charset="utf-8")
        return message

    def close(self) -> None:
        """Quit the connection, if one is open."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None
