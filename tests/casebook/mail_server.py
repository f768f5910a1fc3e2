"""A real SMTP server for the mail tests: aiosmtpd on 127.0.0.1 keeping what it receives.

The `smtp_server` fixture of tests/conftest.py starts one per test."""

from __future__ import annotations

import email
import ipaddress
import ssl
from datetime import UTC, datetime, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from casebook.mailer import SmtpMailer
from tests.services import free_port

SENDER = Address("Red de Oncología Pediátrica", addr_spec="junta@red.example")



class Inbox:
    """An aiosmtpd handler keeping what it receives; refuses recipients in `refuse` with 550."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.lower() in self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [
            email.message_from_bytes(e.content, policy=default)  # type: ignore[misc]
            for e in self.received
        ]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages() if address in str(m["To"])]


class SmtpServer:
    """aiosmtpd on 127.0.0.1:`port`, which can be stopped and started again (an outage)."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def mailer(self) -> SmtpMailer:
        async def no_wait(delay: float) -> None:
            return None

        return SmtpMailer(
            "127.0.0.1", self.port, SENDER.addr_spec, starttls=False, timeout=5, attempts=2,
            backoff=0, sleep=no_wait,
        )


def tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A server context with a new self-signed certificate for 127.0.0.1, and a client context
    that trusts exactly that certificate (written under `folder`)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1)).not_valid_after(now + timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "smtp.crt", folder / "smtp.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
