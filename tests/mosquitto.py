"""A private Mosquitto for tests: plain, password and TLS listeners on free loopback ports.

The broker runs as a child process with its config, password file and throw-away certificates
in a temporary directory. `stop()` kills it (as a crash would) and `start()` brings it back on
the same ports, for reconnect tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import os
import pwd
import socket
import subprocess
import time
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from integration.adapters.broker import free_port, mosquitto_binary

HOST = "127.0.0.1"
USERNAME = "bedroom"
PASSWORD = "correct horse battery staple"  # noqa: S105 - a throw-away test credential
_READY_TIMEOUT_S = 10.0
_READY_POLL_S = 0.02


def _mosquitto_binary() -> str:
    binary = mosquitto_binary()
    if binary is None:
        raise RuntimeError("mosquitto not found on PATH or in /usr/sbin; install mosquitto")
    return binary


def _password_line(username: str, password: str) -> str:
    """One line of Mosquitto's password file: `$7$` is PBKDF2-SHA512, 101 rounds, 12-byte salt.

    Same format `mosquitto_passwd` 2.0 writes (mosquitto `src/password_mosq.c`), so no helper
    binary is needed.
    """
    iterations = 101
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    encoded_salt = base64.b64encode(salt).decode()
    encoded_digest = base64.b64encode(digest).decode()
    return f"{username}:$7${iterations}${encoded_salt}${encoded_digest}\n"


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.write_bytes(pem)


def _issue(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: x509.Certificate | None,
    issuer_key: ec.EllipticCurvePrivateKey,
    usage: x509.ObjectIdentifier | None,
) -> x509.Certificate:
    """A one-day certificate: a CA when `issuer` is None, else a leaf for `usage`."""
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    )
    if issuer is None:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=0), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=False, path_length=None), critical=True
        ).add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
            ),
            critical=False,
        )
        if usage is not None:
            builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


class Mosquitto:
    """A private broker with a plain, a password and a TLS (client-cert) listener."""

    def __init__(self, workdir: Path, *, persistent: bool = False) -> None:
        self.workdir = workdir
        self.persistent = persistent
        self.host = HOST
        self.port = free_port()
        self.password_port = free_port()
        self.tls_port = free_port()
        self.username = USERNAME
        self.password = PASSWORD
        self.ca_file = workdir / "ca.pem"
        self.client_cert_file = workdir / "client.pem"
        self.client_key_file = workdir / "client.key"
        self.log_file = workdir / "mosquitto.log"
        self._config_file = workdir / "mosquitto.conf"
        self._process: subprocess.Popen[bytes] | None = None
        self._write_files()

    def _write_files(self) -> None:
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _issue("smart-bedroom test CA", ca_key, None, ca_key, None)
        self.ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        for name, usage in (
            ("server", ExtendedKeyUsageOID.SERVER_AUTH),
            ("client", ExtendedKeyUsageOID.CLIENT_AUTH),
        ):
            key = ec.generate_private_key(ec.SECP256R1())
            cert = _issue(f"smart-bedroom test {name}", key, ca, ca_key, usage)
            (self.workdir / f"{name}.pem").write_bytes(
                cert.public_bytes(serialization.Encoding.PEM)
            )
            _write_key(key, self.workdir / f"{name}.key")
        passwd = self.workdir / "passwd"
        passwd.write_text(_password_line(self.username, self.password))
        # Mosquitto 2.0 config reference: https://mosquitto.org/man/mosquitto-conf-5.html
        # `user`: a broker started as root would drop to user "mosquitto" and lose access to
        # this private directory; run as whoever runs the tests (ignored when not root).
        self._config_file.write_text(
            f"""\
user {pwd.getpwuid(os.getuid()).pw_name}
per_listener_settings true
{self._persistence()}
# The default of 1000 silently drops QoS 0 messages for a slow consumer.
max_queued_messages 100000
set_tcp_nodelay true
log_dest stderr
log_type error
log_type warning
log_type notice

listener {self.port} {HOST}
allow_anonymous true

listener {self.password_port} {HOST}
allow_anonymous false
password_file {passwd}

listener {self.tls_port} {HOST}
allow_anonymous true
cafile {self.ca_file}
certfile {self.workdir / "server.pem"}
keyfile {self.workdir / "server.key"}
require_certificate true
"""
        )

    def _persistence(self) -> str:
        """Sessions and their queued messages kept on disk across a restart, or not at all."""
        if not self.persistent:
            return "persistence false"
        return f"persistence true\npersistence_location {self.workdir}/"

    def restart(self) -> None:
        """Stop as a service manager does (SIGTERM: a persistent broker saves), then start."""
        assert self._process is not None
        self._process.terminate()
        self._process.wait()
        self._process = None
        self.start()

    def start(self) -> None:
        """Start the broker and return once every listener accepts connections."""
        if self._process is not None:
            raise RuntimeError("mosquitto is already running")
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [_mosquitto_binary(), "-c", str(self._config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def stop(self) -> None:
        """Kill the broker (no clean shutdown, like a crash); in-memory sessions are lost."""
        if self._process is None:
            return
        self._process.kill()
        self._process.wait()
        self._process = None

    def _wait_ready(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + _READY_TIMEOUT_S
        pending = [self.port, self.password_port, self.tls_port]
        while pending:
            if self._process.poll() is not None:
                log = self.log_file.read_text(errors="replace")
                self._process = None
                raise RuntimeError(f"mosquitto exited during start-up:\n{log}")
            try:
                socket.create_connection((HOST, pending[0]), timeout=1).close()
            except OSError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"mosquitto not listening on {pending[0]}") from None
                time.sleep(_READY_POLL_S)
            else:
                pending.pop(0)
