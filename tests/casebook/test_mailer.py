"""E-mail through a real SMTP server (aiosmtpd on 127.0.0.1), parsed back like a mail client."""

from __future__ import annotations

import email
from collections.abc import Iterator
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from casebook.mailer import MailDeliveryError, OutboxMailer, SmtpMailer, compose
from casebook.messages import Message, Recipient, session_messages, transition_messages
from casebook.models import CaseStatus
from casebook.workflow import TRANSITIONS, Audience, CaseAction
from tests.casebook.mail_server import tls_contexts
from tests.casebook.summary_samples import NOW, case, gettext_for, session
from tests.services import free_port

SENDER = Address("Red de Oncología Pediátrica", addr_spec="junta@red.example")
REFERRER = Recipient("Dra. María Núñez Ibáñez", "maria.nunez@hospital.example", "es_MX",
                     "u-referrer")
INVITEE = Recipient("Dr. Ángel Ruiz", "angel@himfg.example", "es_MX", "u-angel")
COORDINATOR = Recipient("Dr. Ann Smith", "ann@red.example", "en", "u-ann")


class Inbox:
    """An aiosmtpd handler that keeps what it receives and can refuse the first few."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.replies: list[str] = []  # replies to give before accepting, e.g. "451 later"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.replies:
            return self.replies.pop(0)
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=default)  # type: ignore[misc]
            for e in self.received
        ]


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def mailer(port: int, **options: Any) -> SmtpMailer:
    delays: list[float] = []

    async def no_wait(delay: float) -> None:
        delays.append(delay)

    instance = SmtpMailer(
        "127.0.0.1", port, "junta@red.example", starttls=False, timeout=5, sleep=no_wait,
        **options,
    )
    instance.delays = delays  # type: ignore[attr-defined]
    return instance


def invitation(event: str = "session.created", **changes: Any) -> Message:
    [message] = session_messages(
        event,  # type: ignore[arg-type]
        session(**changes),
        [INVITEE],
        session_url="https://junta.example/sessions/42",
        gettext_for=gettext_for,
        now=NOW,
    )
    return message


def calendar_part(message: EmailMessage) -> EmailMessage:
    [part] = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert isinstance(part, EmailMessage)
    return part


def ics_lines(text: str) -> list[str]:
    return text.replace("\r\n ", "").replace("\n ", "").splitlines()


async def test_invitation_arrives_with_a_request_calendar(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    await mailer(port).send(compose(invitation(), sender=SENDER, now=NOW))
    [envelope] = inbox.received
    assert envelope.rcpt_tos == ["angel@himfg.example"]
    assert envelope.mail_from == "junta@red.example"
    [received] = inbox.messages()
    assert received["Subject"] == "Invitación: Comité de tumores hematológicos"
    assert received["To"].addresses[0].display_name == "Dr. Ángel Ruiz"
    assert received["From"].addresses[0].display_name == "Red de Oncología Pediátrica"
    assert received["Auto-Submitted"] == "auto-generated"
    part = calendar_part(received)
    assert part.get_param("method") == "REQUEST"
    assert part.get_content_charset() == "utf-8"
    raw = part.get_payload(decode=True)
    assert isinstance(raw, bytes) and raw.endswith(b"END:VCALENDAR\r\n")
    assert raw.count(b"\n") == raw.count(b"\r\n")  # RFC 5545: CRLF, never a bare LF
    lines = ics_lines(part.get_content())
    assert "METHOD:REQUEST" in lines
    assert "UID:session-42@junta" in lines
    assert "SEQUENCE:2" in lines
    # The same file is attached as invite.ics for clients that do not read the inline part.
    [attached] = [p for p in received.iter_attachments() if p.get_filename() == "invite.ics"]
    assert attached.get_content_type() == "application/ics"
    assert ics_lines(attached.get_content().decode()) == lines
    # Text and HTML alternatives say the same in Spanish.
    text = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert text is not None and html is not None
    assert "Hola, Dr. Ángel Ruiz:" in text.get_content()
    assert "Hola, Dr. Ángel Ruiz:" in html.get_content()
    assert 'href="https://junta.example/sessions/42"' in html.get_content()


async def test_updates_keep_the_uid_and_carry_the_new_sequence(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    send = mailer(port)
    await send.send(compose(invitation(sequence=0), sender=SENDER, now=NOW))
    await send.send(compose(invitation("session.updated", sequence=3), sender=SENDER, now=NOW))
    first, second = (ics_lines(calendar_part(m).get_content()) for m in inbox.messages())
    assert "UID:session-42@junta" in first and "UID:session-42@junta" in second
    assert "SEQUENCE:0" in first and "SEQUENCE:3" in second


async def test_cancellation_has_the_cancel_shape(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    await mailer(port).send(compose(invitation("session.cancelled"), sender=SENDER, now=NOW))
    [received] = inbox.messages()
    assert received["Subject"] == "Cancelada: Comité de tumores hematológicos"
    part = calendar_part(received)
    assert part.get_param("method") == "CANCEL"
    lines = ics_lines(part.get_content())
    assert "METHOD:CANCEL" in lines and "STATUS:CANCELLED" in lines
    assert "UID:session-42@junta" in lines and "SEQUENCE:2" in lines
    assert "BEGIN:VALARM" not in lines
    assert not any(line.startswith("ATTENDEE") and "RSVP=TRUE" in line for line in lines)
    assert [p.get_filename() for p in received.iter_attachments()] == ["cancel.ics"]


async def test_recommendation_notice_carries_the_pdf(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 40
    messages = transition_messages(
        CaseStatus.DISCUSSED,
        CaseAction.ISSUE_RECOMMENDATION,
        case=case(),
        audiences={Audience.REFERRER: [REFERRER], Audience.COORDINATORS: [COORDINATOR]},
        actor_user_id="u-chair",
        case_url="https://junta.example/cases/JC-2026-000123",
        gettext_for=gettext_for,
        now=NOW,
        session=session(),
        nota_pdf=pdf,
    )
    send = mailer(port)
    for message in messages:
        await send.send(compose(message, sender=SENDER, now=NOW))
    spanish, english = inbox.messages()
    assert spanish["Subject"] == "Recomendación emitida para el caso JC-2026-000123"
    assert english["Subject"] == "Recommendation issued for case JC-2026-000123"
    [attachment] = spanish.iter_attachments()
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "Nota de interconsulta JC-2026-000123.pdf"
    assert attachment.get_content() == pdf


async def test_information_request_notice(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    [message] = transition_messages(
        CaseStatus.SUBMITTED,
        CaseAction.REQUEST_INFORMATION,
        case=case(status=CaseStatus.INFORMATION_REQUESTED),
        audiences={Audience.REFERRER: [COORDINATOR]},
        actor_user_id=None,
        case_url="https://junta.example/cases/JC-2026-000123",
        gettext_for=gettext_for,
        now=NOW,
    )
    await mailer(port).send(compose(message, sender=SENDER, now=NOW))
    [received] = inbox.messages()
    assert received["Subject"] == "More information requested on case JC-2026-000123"
    assert list(received.iter_attachments()) == []
    assert received["Content-Language"] == "en"


def test_non_ascii_headers_are_encoded_words_on_the_wire() -> None:
    raw = compose(invitation(), sender=SENDER, now=NOW).as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert head.isascii()
    assert b"=?utf-8?" in head
    assert b"\r\n" in raw and b"\n\n" not in raw.replace(b"\r\n", b"")


async def test_a_temporary_refusal_is_retried(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    inbox.replies = ["451 4.3.0 Try again later"]
    send = mailer(port, attempts=3, backoff=0.5)
    await send.send(compose(invitation(), sender=SENDER, now=NOW))
    assert len(inbox.received) == 1
    assert send.delays == [0.5]  # type: ignore[attr-defined]


async def test_a_permanent_refusal_raises_at_once(smtp: tuple[Inbox, int]) -> None:
    inbox, port = smtp
    inbox.replies = ["554 5.7.1 Message rejected"]
    send = mailer(port, attempts=3)
    with pytest.raises(MailDeliveryError) as caught:
        await send.send(compose(invitation(), sender=SENDER, now=NOW))
    assert caught.value.permanent and caught.value.code == "mail_permanent_failure"
    assert "554" in caught.value.message
    assert send.delays == []  # type: ignore[attr-defined]


async def test_an_unreachable_server_fails_after_bounded_retries() -> None:
    port = free_port()  # nobody listens there
    send = mailer(port, attempts=3, backoff=1.0)
    with pytest.raises(MailDeliveryError) as caught:
        await send.send(compose(invitation(), sender=SENDER, now=NOW))
    assert not caught.value.permanent
    assert isinstance(caught.value.__cause__, OSError)
    assert send.delays == [1.0, 2.0]  # type: ignore[attr-defined]


async def test_starttls_required_but_not_offered_is_a_permanent_error(
    smtp: tuple[Inbox, int],
) -> None:
    inbox, port = smtp
    send = SmtpMailer("127.0.0.1", port, "junta@red.example", starttls=True, timeout=5)
    with pytest.raises(MailDeliveryError) as caught:
        await send.send(compose(invitation(), sender=SENDER, now=NOW))
    assert caught.value.permanent
    assert inbox.received == []


async def test_mail_goes_out_over_starttls_when_the_server_offers_it(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_tls,
                            require_starttls=True)
    controller.start()
    try:
        send = SmtpMailer("127.0.0.1", port, "junta@red.example", timeout=5,
                          tls_context=client_tls)  # STARTTLS is the default
        await send.send(compose(invitation(), sender=SENDER, now=NOW))
    finally:
        controller.stop()
    [message] = inbox.messages()
    assert message["To"].addresses[0].addr_spec == INVITEE.email


async def test_mail_goes_out_over_implicit_tls(tmp_path: Path) -> None:
    server_tls, client_tls = tls_contexts(tmp_path)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_tls)
    controller.start()
    try:
        send = SmtpMailer("127.0.0.1", port, "junta@red.example", implicit_tls=True, timeout=5,
                          tls_context=client_tls)
        await send.send(compose(invitation(), sender=SENDER, now=NOW))
        # The same server in clear is refused: nothing is sent without TLS.
        clear = SmtpMailer("127.0.0.1", port, "junta@red.example", starttls=False, timeout=2,
                           attempts=1)
        with pytest.raises(MailDeliveryError):
            await clear.send(compose(invitation(), sender=SENDER, now=NOW))
    finally:
        controller.stop()
    assert len(inbox.messages()) == 1


async def test_outbox_mailer_keeps_messages() -> None:
    outbox = OutboxMailer()
    message = compose(invitation(), sender=SENDER, now=NOW)
    await outbox.send(message)
    assert outbox.sent == [message]


def every_message(title: str) -> Iterator[Message]:
    """Every message the casebook sends, about a session (and a case) called `title`."""
    people = [INVITEE, COORDINATOR]
    for event in ("session.created", "session.updated", "session.cancelled"):
        yield from session_messages(
            event,  # type: ignore[arg-type]
            session(title=title),
            people,
            session_url="https://junta.example/sessions/42",
            gettext_for=gettext_for,
            now=NOW,
        )
    for edge in TRANSITIONS:
        yield from transition_messages(
            edge.source,
            edge.action,
            case=case(status=edge.source, diagnosis=title),
            audiences={audience: people for audience in Audience},
            actor_user_id=None,
            case_url="https://junta.example/cases/JC-2026-000123",
            gettext_for=gettext_for,
            now=NOW,
            session=session(title=title),
            nota_pdf=b"%PDF-1.7\n",
        )


@pytest.mark.parametrize("padding", range(0, 64, 3))
def test_every_subject_decodes_to_its_text(padding: int) -> None:
    # Shifting the words by `padding` puts each of them at a fold somewhere in the range.
    title = "x" * padding + " Junta de revisión;“ñandú” de tumores sólidos — hígado 🎗️ final"
    subjects = 0
    for message in every_message(title):
        raw = compose(message, sender=SENDER, now=NOW).as_bytes()
        parsed = email.message_from_bytes(raw, policy=default)
        assert parsed["Subject"] == message.subject, raw.split(b"\r\n\r\n", 1)[0]
        head = raw.split(b"\r\n\r\n", 1)[0]
        assert head.isascii() and max(len(line) for line in head.split(b"\r\n")) <= 78
        subjects += 1
    assert subjects > 20
