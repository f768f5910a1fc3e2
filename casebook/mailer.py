"""E-mail: worded messages (`casebook.messages`) as MIME, and sending them over SMTP.

`compose` is pure: a text part and its HTML alternative, a calendar as Google and Outlook send
it (an inline `text/calendar; method=...` alternative that mail clients turn into an
invitation, plus the same file as an `invite.ics` attachment), and any other attachment (the
nota PDF). Headers with accents are RFC 2047-encoded by `email.policy.SMTP`, except the subject
(see `_subject`).

`SmtpMailer` sends with the standard library's `smtplib` in a worker thread. Temporary failures
(connection trouble, 4xx replies) are retried a few times with backoff; permanent ones (5xx,
refused recipients, failed login or STARTTLS) at once raise `MailDeliveryError`. Nothing is
swallowed: the outbox marks a notification sent only when `send` returned.
"""

from __future__ import annotations

import asyncio
import html
import logging
import smtplib
import ssl
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Protocol

from casebook.errors import CasebookError
from casebook.messages import Message
from casebook.triage import require_utc

log = logging.getLogger(__name__)


class Mailer(Protocol):
    """Something that delivers e-mail; the service layer takes one of these."""

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message` or raise `MailDeliveryError`."""
        ...


class MailDeliveryError(CasebookError):
    """A message could not be delivered; `permanent` says whether retrying later may help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        code = "mail_permanent_failure" if permanent else "mail_temporary_failure"
        super().__init__(code, message)
        self.permanent = permanent


def compose(message: Message, *, sender: Address, now: datetime) -> EmailMessage:
    """`message` as an e-mail from `sender`, dated `now` (timezone-aware)."""
    require_utc(now, "now")
    email = EmailMessage(policy=SMTP)
    email["From"] = sender
    email["To"] = Address(message.recipient.name, addr_spec=message.recipient.email.strip())
    _subject(email, message.subject)
    email["Date"] = format_datetime(now)
    email["Message-ID"] = make_msgid(domain=sender.domain or None)
    # RFC 3834: no vacation auto-replies to the platform.
    email["Auto-Submitted"] = "auto-generated"
    email.set_content(_text(message))
    email.add_alternative(_html(message), subtype="html")
    calendars = [a for a in message.attachments if a.content_type == "text/calendar"]
    for calendar in calendars:
        # As bytes (base64): iCalendar lines must keep their CRLF, which text parts would lose.
        email.add_alternative(
            calendar.data,
            maintype="text",
            subtype="calendar",
            params={"charset": "utf-8", "method": calendar.method or "REQUEST"},
        )
    for attachment in message.attachments:
        if attachment.content_type == "text/calendar":
            maintype, subtype = "application", "ics"
        else:
            maintype, _, subtype = attachment.content_type.partition("/")
        email.add_attachment(
            attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename
        )
    # Last: building the parts moves or clears Content-* headers set before.
    email["Content-Language"] = message.recipient.locale.replace("_", "-")
    return email


def _subject(email: EmailMessage, subject: str) -> None:
    """Set the Subject so that a mail client decodes exactly `subject`.

    The policy's folder can put the space between two words at a fold, outside and between two
    encoded-words, where RFC 2047 says to drop it ("revisión;“ñandú”" lost its space in a
    cancellation). `email.header.Header` encodes the whole text into encoded-words, spaces
    inside them; set raw, the policy keeps those folded lines as they are (all under 78).
    """
    if subject.isascii():
        email["Subject"] = subject  # no encoded-words: unfolding restores every space
        return
    email.set_raw("Subject", Header(subject, "utf-8", header_name="Subject").encode())


def _text(message: Message) -> str:
    parts = [message.greeting, *message.paragraphs, f"{message.link_label}: {message.link}"]
    return "\n\n".join(parts) + f"\n\n-- \n{message.footer}\n"


def _html(message: Message) -> str:
    e = html.escape
    paragraphs = "".join(f"<p>{e(p)}</p>" for p in message.paragraphs)
    return (
        f'<!doctype html><html lang="{e(message.recipient.locale.replace("_", "-"))}">'
        '<body style="font-family:sans-serif;color:#212529;line-height:1.5">'
        f"<p>{e(message.greeting)}</p>{paragraphs}"
        f'<p><a href="{e(message.link)}" style="display:inline-block;padding:8px 16px;'
        'background:#174e7a;color:#fff;text-decoration:none;border-radius:4px">'
        f"{e(message.link_label)}</a></p>"
        f'<p style="color:#606770;font-size:small">{e(message.footer)}</p>'
        "</body></html>\n"
    )


class SmtpMailer:
    """Sends through an SMTP server: STARTTLS on the submission port (the default), TLS from the
    first byte (`implicit_tls`, port 465), or in clear to a local relay (`starttls=False`)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        starttls: bool = True,
        implicit_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        attempts: int = 3,
        backoff: float = 2.0,
        tls_context: ssl.SSLContext | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        if (username is None) != (password is None):
            raise ValueError("give both username and password, or neither")
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.implicit_tls = implicit_tls
        self.timeout, self.attempts, self.backoff = timeout, attempts, backoff
        self.tls_context = tls_context
        self._sleep = sleep

    async def send(self, message: EmailMessage) -> None:
        """Deliver `message`, retrying temporary failures; raises `MailDeliveryError`."""
        for attempt in range(1, self.attempts + 1):
            try:
                await asyncio.to_thread(self._send_now, message)
                return
            except MailDeliveryError:
                raise
            except (smtplib.SMTPException, OSError) as error:
                permanent = _is_permanent(error)
                if permanent or attempt == self.attempts:
                    raise MailDeliveryError(
                        f"could not send mail through {self.host}:{self.port} after {attempt} "
                        f"attempt(s): {_describe(error)}",
                        permanent=permanent,
                    ) from error
                delay = self.backoff * 2 ** (attempt - 1)
                log.warning(
                    "mail.retry attempt=%d delay=%.1f error=%s",
                    attempt, delay, type(error).__name__,
                )
                await self._sleep(delay)

    def _send_now(self, message: EmailMessage) -> None:
        context = self.tls_context or ssl.create_default_context()
        connect = (
            smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
            if self.implicit_tls else smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        )
        with connect as smtp:
            if self.starttls and not self.implicit_tls:
                smtp.starttls(context=context)
            if self.username is not None and self.password is not None:
                smtp.login(self.username, self.password)
            refused = smtp.send_message(message, from_addr=self.sender)
        if refused:
            # Some recipients were accepted: retrying would send them a second copy.
            raise MailDeliveryError(
                f"{len(refused)} recipient(s) refused by {self.host}", permanent=True
            )


def _is_permanent(error: BaseException) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return error.smtp_code >= 500
    # STARTTLS or AUTH unsupported, a bad certificate: configuration, not bad luck.
    return isinstance(error, smtplib.SMTPNotSupportedError | ssl.SSLCertVerificationError)


def _describe(error: BaseException) -> str:
    if isinstance(error, smtplib.SMTPResponseException):
        reply = error.smtp_error
        text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
        return f"{error.smtp_code} {text}"
    return f"{type(error).__name__}: {error}"


class OutboxMailer:
    """Keeps messages in memory instead of sending them (tests, demos, development)."""

    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    async def send(self, message: EmailMessage) -> None:
        """Keep `message`."""
        self.sent.append(message)
