"""A certificate authority of the test's own and a server certificate it signs (for coturn's
TURN over TLS), written as PEM files; and an NSS database that trusts the authority, which is
where Chromium on Linux looks for certificates its user added (`$HOME/.pki/nssdb`)."""

from __future__ import annotations

import datetime
import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class ServerCertificate:
    ca: Path  # the authority's certificate
    cert: Path  # the server's certificate (PEM)
    key: Path  # its private key (PEM, unencrypted)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _pem(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _signed(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Name,
    signer: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    """A certificate for `key` named `subject`, signed by `signer` (named `issuer`), valid
    from an hour ago for a day, with `extensions` (each with its critical flag)."""
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def issue(folder: Path, address: str) -> ServerCertificate:
    """A new authority and a certificate for `address` (an IP, in subjectAltName) signed by it."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    signs_certificates = x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=False,
        data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
        encipher_only=False, decipher_only=False,
    )  # fmt: skip
    ca = _signed("Junta test CA", ca_key, _name("Junta test CA"), ca_key, [
        (x509.BasicConstraints(ca=True, path_length=0), True), (signs_certificates, True),
    ])  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _signed(address, key, ca.subject, ca_key, [
        (x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]), False),
        (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        (x509.BasicConstraints(ca=False, path_length=None), True),
    ])  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return ServerCertificate(
        ca=_pem(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        cert=_pem(folder / "server.pem", cert.public_bytes(serialization.Encoding.PEM)),
        key=_pem(folder / "server.key", private),
    )


def trusting_home(home: Path, ca: Path) -> Path:
    """A HOME whose NSS database (`.pki/nssdb`, what Chromium reads) trusts `ca` for servers."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    database = f"sql:{nssdb}"
    for argv in (
        ["certutil", "-N", "-d", database, "--empty-password"],
        ["certutil", "-A", "-d", database, "-n", "junta-test-ca", "-t", "C,,", "-i", str(ca)],
    ):
        subprocess.run(argv, check=True, capture_output=True, timeout=30)
    return home
