"""SMTP delivery against real loopback servers (aiosmtpd): plain, STARTTLS, AUTH, failures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import policy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from alert_fixtures import alert_row, alert_settings
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kam_transforms.alerts import (
    ALERT_COLUMNS,
    DeliveryError,
    EmlOutbox,
    OutboxState,
    SmtpTransport,
    UnusableConnection,
    publish_alerts,
    transport_for,
    transport_from_airflow,
)
from kam_transforms.config import Settings
from kam_transforms.notify import notify_validation_failure
from kam_transforms.validate import ExpectationOutcome, ValidationReport

D0 = dt.date(2026, 10, 31)
PASSWORD = "s3cret-Passw0rd!"  # noqa: S105 - test credential for the loopback server


alert = alert_row


ALERTS = pd.DataFrame(
    [
        alert(),
        alert(
            customer_id="C002",
            customer_name="北京华信",
            owner_name="王芳",
            owner_email="wang@example.cn",
            owner_locale="zh-CN",
            severity="low",
        ),
    ],  # fmt: skip
    columns=list(ALERT_COLUMNS),
)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alert_settings(tmp_path)


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "alerts_state.sqlite"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    over_tls: bool
    authenticated: bool

    @property
    def message(self) -> email.message.EmailMessage:
        msg = email.message_from_bytes(self.content, policy=policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        return msg


class Collector:
    """aiosmtpd handler that keeps every accepted message (or rejects with ``reply``)."""

    def __init__(self, reply: str = "250 OK") -> None:
        self.reply = reply
        self.messages: list[Received] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.reply.startswith("250"):
            self.messages.append(
                Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content,
                         session.ssl is not None, bool(session.authenticated))
            )  # fmt: skip
        return self.reply


@contextmanager
def smtp_server(handler: Collector | None = None, **smtp_kwargs: Any) -> Iterator[Server]:
    handler = handler or Collector()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port, **smtp_kwargs)
    controller.start()
    try:
        yield Server(port, handler)
    finally:
        controller.stop()


@dataclass
class Server:
    port: int
    handler: Collector


@pytest.fixture
def server() -> Iterator[Server]:
    with smtp_server() as running:
        yield running


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost (cert file, key file)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def plain(port: int, **kwargs: Any) -> SmtpTransport:
    return SmtpTransport("127.0.0.1", port, starttls=False, timeout=5, **kwargs)


def deliveries(state_path: Path) -> list[dict[str, Any]]:
    with OutboxState(state_path) as state:
        return state.deliveries(D0)


def notified(state_path: Path) -> list[str | None]:
    with OutboxState(state_path) as state:
        return [row["last_notified"] for row in state.alerts()]


def publish(settings: Settings, state_path: Path, transport: SmtpTransport) -> dict[str, Any]:
    return publish_alerts(ALERTS, D0, settings, state_path, transport=transport, crm_base_url="")


# --------------------------------------------------------------------------- happy paths


def test_plain_smtp_delivers_each_digest_once(
    server: Server, settings: Settings, state_path: Path
) -> None:
    first = publish(settings, state_path, plain(server.port))
    assert first["digests_sent"] == 2 and first["transport"] == f"smtp://127.0.0.1:{server.port}"
    received = {tuple(m.rcpt_tos): m for m in server.handler.messages}
    assert set(received) == {("ann@example.com", "boss@example.com"), ("wang@example.cn",)}
    ann = received[("ann@example.com", "boss@example.com")]
    assert ann.mail_from == "kam-alerts@example.com" and not ann.over_tls
    assert ann.message["Subject"] == "KAM alerts 2026-10-31: 1 account needs attention"
    assert ann.message["Cc"] == "boss@example.com"
    zh = received[("wang@example.cn",)].message
    assert zh["Subject"] == "关键客户预警 2026-10-31：1 个客户需要关注"
    assert sorted(m.message["Message-ID"] for m in server.handler.messages) == first["message_ids"]

    second = publish(settings, state_path, plain(server.port))
    assert second["digests_sent"] == 0 and len(server.handler.messages) == 2
    assert [d["status"] for d in deliveries(state_path)] == ["sent", "sent"]


def test_starttls_is_used_with_a_verified_certificate(
    certificate: tuple[Path, Path], settings: Settings, state_path: Path
) -> None:
    with smtp_server(tls_context=server_tls(certificate), require_starttls=True) as tls_server:
        # the default context does not trust the self-signed certificate: refused, nothing sent
        untrusted = SmtpTransport("127.0.0.1", tls_server.port, timeout=5)
        with pytest.raises(DeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            publish(settings, state_path, untrusted)
        assert tls_server.handler.messages == []
        assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]

        trusted = SmtpTransport(
            "127.0.0.1", tls_server.port, ssl_context=client_tls(certificate), timeout=5
        )
        summary = publish(settings, state_path, trusted)
    assert summary["digests_sent"] == 2
    assert len(tls_server.handler.messages) == 2
    assert all(m.over_tls for m in tls_server.handler.messages)  # STARTTLS really happened


def test_starttls_required_but_not_offered(
    server: Server, settings: Settings, state_path: Path
) -> None:
    transport = SmtpTransport("127.0.0.1", server.port, timeout=5)  # starttls=True by default
    with pytest.raises(DeliveryError, match="does not offer STARTTLS") as raised:
        publish(settings, state_path, transport)
    assert server.handler.messages == []
    # a relay that cannot be used as configured stops the run: every digest stays pending
    assert raised.value.connection and not raised.value.permanent
    assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]


def authenticator(
    server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"kam", PASSWORD.encode())
    return AuthResult(success=ok, handled=False)


def test_login_over_starttls_and_password_never_in_errors(
    certificate: tuple[Path, Path], settings: Settings, state_path: Path
) -> None:
    with smtp_server(
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    ) as auth_server:
        context = client_tls(certificate)
        wrong = SmtpTransport("127.0.0.1", auth_server.port, "kam", "wrong-" + PASSWORD,
                              ssl_context=context, timeout=5)  # fmt: skip
        with pytest.raises(DeliveryError) as raised:
            publish(settings, state_path, wrong)
        message = str(raised.value)
        assert f"127.0.0.1:{auth_server.port}" in message and "535" in message
        assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]
        assert PASSWORD not in message and PASSWORD not in repr(wrong)
        assert all(PASSWORD not in (d["last_error"] or "") for d in deliveries(state_path))

        right = SmtpTransport(
            "127.0.0.1", auth_server.port, "kam", PASSWORD, ssl_context=context, timeout=5
        )
        assert publish(settings, state_path, right)["digests_sent"] == 2
    assert [m.authenticated for m in auth_server.handler.messages] == [True, True]
    assert all(m.over_tls for m in auth_server.handler.messages)


def test_credentials_are_not_sent_without_tls(
    server: Server, settings: Settings, state_path: Path
) -> None:
    with pytest.raises(DeliveryError, match="refusing to send credentials without TLS"):
        publish(settings, state_path, plain(server.port, login="kam", password=PASSWORD))
    assert server.handler.messages == []


# --------------------------------------------------------------------------- failures


def test_crash_after_send_resends_with_the_same_message_id(
    server: Server, settings: Settings, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = ALERTS.iloc[[0]]

    def crash(self: OutboxState, delivery_id: str, note: str | None = None) -> None:
        raise RuntimeError("worker killed after the send")

    with monkeypatch.context() as patch:
        patch.setattr(OutboxState, "mark_sent", crash)
        with pytest.raises(RuntimeError):
            publish_alerts(
                one, D0, settings, state_path, transport=plain(server.port), crm_base_url=""
            )
    assert len(server.handler.messages) == 1
    assert [d["status"] for d in deliveries(state_path)] == ["pending"]

    summary = publish_alerts(
        one, D0, settings, state_path, transport=plain(server.port), crm_base_url=""
    )
    assert summary["digests_sent"] == 1
    first, resent = server.handler.messages
    assert first.message["Message-ID"] == resent.message["Message-ID"] == summary["message_ids"][0]
    assert first.content == resent.content  # byte-identical resend the receiver can dedupe
    assert [d["status"] for d in deliveries(state_path)] == ["sent"]
    assert (
        publish_alerts(one, D0, settings, state_path, transport=plain(server.port))["digests_sent"]
        == 0
    )
    assert len(server.handler.messages) == 2


def test_refused_connection_then_a_later_attempt_delivers(
    server: Server, settings: Settings, state_path: Path
) -> None:
    closed = free_port()
    transport = plain(closed, login=None, password=PASSWORD)
    with pytest.raises(DeliveryError) as raised:
        publish(settings, state_path, transport)
    message = str(raised.value)
    assert f"127.0.0.1:{closed}" in message and "connection refused" in message
    assert "ann@example.com" in message and PASSWORD not in message
    assert raised.value.endpoint == f"127.0.0.1:{closed}" and not raised.value.permanent
    assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]
    assert notified(state_path) == [None, None]

    assert publish(settings, state_path, plain(server.port))["digests_sent"] == 2
    # the first digest was tried against the closed port; the run stopped before the second
    attempts = {d["recipient"]: (d["status"], d["attempts"]) for d in deliveries(state_path)}
    assert attempts == {"ann@example.com": ("sent", 2), "wang@example.cn": ("sent", 1)}
    assert notified(state_path) == ["2026-10-31", "2026-10-31"]


@pytest.fixture
def dropping_server() -> Iterator[int]:
    """Accepts TCP connections and closes them at once, like a crashed relay."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(2)
        listener.close()


def test_dropped_connection_then_a_later_attempt_delivers(
    dropping_server: int, server: Server, settings: Settings, state_path: Path
) -> None:
    with pytest.raises(
        DeliveryError, match=rf"via 127\.0\.0\.1:{dropping_server} failed: server closed"
    ):
        publish(settings, state_path, plain(dropping_server))
    assert {d["status"] for d in deliveries(state_path)} == {"pending"}
    assert notified(state_path) == [None, None]
    assert publish(settings, state_path, plain(server.port))["digests_sent"] == 2
    assert {d["status"] for d in deliveries(state_path)} == {"sent"}


def test_permanent_rejection_marks_failed_and_is_retried(
    settings: Settings, state_path: Path
) -> None:
    with smtp_server(Collector("554 5.7.1 Message rejected by policy")) as rejecting:
        with pytest.raises(DeliveryError, match="554 5.7.1 Message rejected by policy") as raised:
            publish(settings, state_path, plain(rejecting.port))
    assert raised.value.permanent
    report = raised.value.report
    assert report is not None and len(report.failed) == 2  # a 5xx does not stop the others
    assert [d["status"] for d in deliveries(state_path)] == ["failed", "failed"]
    assert notified(state_path) == [None, None]

    with smtp_server() as good:
        assert publish(settings, state_path, plain(good.port))["digests_sent"] == 2
    assert {d["status"] for d in deliveries(state_path)} == {"sent"}


def test_temporary_rejection_stays_pending(settings: Settings, state_path: Path) -> None:
    with smtp_server(Collector("451 4.3.0 Try again later")) as busy:
        with pytest.raises(DeliveryError, match="451 4.3.0 Try again later") as raised:
            publish(settings, state_path, plain(busy.port))
    assert not raised.value.permanent
    assert {d["status"] for d in deliveries(state_path)} == {"pending"}


# --------------------------------------------------------------------------- Airflow


def test_transport_from_airflow_connection(monkeypatch: pytest.MonkeyPatch) -> None:
    conn = {
        "conn_type": "smtp",
        "host": "smtp.example.com",
        "port": 2525,
        "login": "kam",
        "password": PASSWORD,
        "extra": {"starttls": "false", "from_email": "alerts@example.com", "timeout": 7},
    }
    monkeypatch.setenv("AIRFLOW_CONN_KAM_SMTP_TEST", json.dumps(conn))
    transport = transport_from_airflow("kam_smtp_test")
    assert isinstance(transport, SmtpTransport)
    assert (transport.host, transport.port, transport.login) == ("smtp.example.com", 2525, "kam")
    assert (transport.starttls, transport.from_email, transport.timeout) == (
        False,
        "alerts@example.com",
        7.0,
    )
    assert (
        transport.ssl_context.verify_mode == ssl.CERT_REQUIRED
        and transport.ssl_context.check_hostname
    )
    assert PASSWORD not in repr(transport)

    conn["extra"] = {"no_verify": True}
    monkeypatch.setenv("AIRFLOW_CONN_KAM_SMTP_TEST", json.dumps(conn))
    relaxed = transport_from_airflow("kam_smtp_test")
    assert (
        relaxed is not None
        and relaxed.starttls
        and relaxed.ssl_context.verify_mode == ssl.CERT_NONE
    )

    monkeypatch.delenv("AIRFLOW_CONN_KAM_SMTP_MISSING", raising=False)
    assert transport_from_airflow("kam_smtp_missing") is None


def test_from_email_of_the_transport_is_the_sender(
    server: Server, settings: Settings, state_path: Path
) -> None:
    publish(settings, state_path, plain(server.port, from_email="Alerts Desk <desk@example.org>"))
    assert {m.mail_from for m in server.handler.messages} == {"desk@example.org"}
    assert {m.message["From"] for m in server.handler.messages} == {
        "Alerts Desk <desk@example.org>"
    }


# ------------------------------------------------- KAM_ALERTS_DELIVERY=smtp: fail loudly, then once


def provider_conn(port: int, **fields: Any) -> str:
    """An Airflow SMTP provider connection (its standard fields) to a plain loopback relay."""
    extra = {"disable_ssl": True, "disable_tls": True, "from_email": "kam-alerts@example.com"}
    conn = {"conn_type": "smtp", "host": "127.0.0.1", "port": port, "extra": extra}
    return json.dumps(conn | fields)


@pytest.fixture
def smtp_settings(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """``KAM_ALERTS_DELIVERY=smtp`` with the default connection id (``smtp_default``)."""
    monkeypatch.setenv("KAM_ALERTS_DELIVERY", "smtp")
    monkeypatch.delenv("KAM_SMTP_CONN_ID", raising=False)
    monkeypatch.delenv("AIRFLOW_CONN_SMTP_DEFAULT", raising=False)
    smtp = Settings.from_env()
    assert (smtp.alerts_delivery, smtp.smtp_conn_id) == ("smtp", "smtp_default")
    return dataclasses.replace(settings, alerts_delivery="smtp", smtp_conn_id="smtp_default")


def publish_as_configured(settings: Settings, state_path: Path, frame: pd.DataFrame = ALERTS
                          ) -> dict[str, Any]:  # fmt: skip
    """Publish with the transport the settings name (what the alerts task does)."""
    return publish_alerts(frame, D0, settings, state_path, crm_base_url="")


def test_smtp_connection_under_another_id_fails_then_the_fixed_one_delivers_each_once(
    server: Server, smtp_settings: Settings, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the standard connection exists, but under an id the project does not read
    monkeypatch.setenv("AIRFLOW_CONN_MAIL_RELAY", provider_conn(server.port))
    with pytest.raises(DeliveryError) as raised:
        publish_as_configured(smtp_settings, state_path)
    message = str(raised.value)
    assert "KAM_ALERTS_DELIVERY=smtp" in message and "'smtp_default' is not defined" in message
    assert "2 digest(s) left pending" in message and raised.value.connection
    assert server.handler.messages == []
    assert not (smtp_settings.outbox_dir).exists()  # no .eml files pretending to be sent
    assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]
    assert notified(state_path) == [None, None]

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", provider_conn(server.port))
    fixed = publish_as_configured(smtp_settings, state_path)
    assert (fixed["delivery"], fixed["transport"]) == ("smtp", f"smtp://127.0.0.1:{server.port}")
    assert (fixed["digests_sent"], fixed["digests_emailed"]) == (2, 2)
    assert (fixed["digests_written"], fixed["digests_pending"]) == (0, 0)
    assert len(server.handler.messages) == 2
    ids = [m.message["Message-ID"] for m in server.handler.messages]
    assert sorted(ids) == fixed["message_ids"] and len(set(ids)) == 2
    assert {m.mail_from for m in server.handler.messages} == {"kam-alerts@example.com"}
    assert notified(state_path) == ["2026-10-31", "2026-10-31"]

    again = publish_as_configured(smtp_settings, state_path)
    assert again["digests_sent"] == 0 and again["digests_pending"] == 0
    assert len(server.handler.messages) == 2  # each digest exactly once


def test_smtp_connection_to_a_refused_port_names_the_connection_and_keeps_alerts_pending(
    server: Server, smtp_settings: Settings, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = free_port()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", provider_conn(closed))
    with pytest.raises(DeliveryError) as raised:
        publish_as_configured(smtp_settings, state_path)
    message = str(raised.value)
    assert f"via 127.0.0.1:{closed} failed: connection refused" in message
    assert "the Airflow connection 'smtp_default' is unusable" in message
    assert "2 digest(s) left pending" in message
    assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]

    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", provider_conn(server.port))
    assert publish_as_configured(smtp_settings, state_path)["digests_emailed"] == 2
    assert publish_as_configured(smtp_settings, state_path)["digests_emailed"] == 0
    assert len(server.handler.messages) == 2


def test_smtp_connection_with_a_wrong_password_fails_without_showing_it(
    certificate: tuple[Path, Path], smtp_settings: Settings, state_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    with smtp_server(
        tls_context=server_tls(certificate),
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    ) as auth_server:
        # the provider's fields: STARTTLS (disable_tls false), no implicit SSL, and
        # ssl_context "none" to accept the self-signed test certificate
        def conn(password: str) -> str:
            extra = {"disable_ssl": True, "disable_tls": False, "ssl_context": "none"}
            return json.dumps({"conn_type": "smtp", "host": "127.0.0.1", "port": auth_server.port,
                               "login": "kam", "password": password, "extra": extra})  # fmt: skip

        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn("wrong-" + PASSWORD))
        with pytest.raises(DeliveryError) as raised:
            publish_as_configured(smtp_settings, state_path)
        message = str(raised.value)
        assert "535" in message and "'smtp_default' is unusable" in message
        assert PASSWORD not in message
        assert all(PASSWORD not in (d["last_error"] or "") for d in deliveries(state_path))
        assert [d["status"] for d in deliveries(state_path)] == ["pending", "pending"]
        assert auth_server.handler.messages == []

        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", conn(PASSWORD))
        assert publish_as_configured(smtp_settings, state_path)["digests_emailed"] == 2
    assert [(m.authenticated, m.over_tls) for m in auth_server.handler.messages] == [
        (True, True),
        (True, True),
    ]


def test_missing_connection_fails_even_with_nothing_to_send(
    smtp_settings: Settings, state_path: Path
) -> None:
    with pytest.raises(DeliveryError, match="'smtp_default' is not defined"):
        publish_as_configured(smtp_settings, state_path, ALERTS.iloc[0:0])


@pytest.mark.parametrize(
    ("conn", "problem"),
    [
        ({"conn_type": "http", "host": "127.0.0.1"}, "has type 'http', not 'smtp'"),
        ({"conn_type": "smtp", "login": "kam"}, "has no host"),
        ({"conn_type": "smtp", "host": "h", "extra": {"auth_type": "oauth2"}}, "auth_type"),
        ({"conn_type": "smtp", "host": "h", "extra": {"ssl_context": "weak"}}, "ssl_context"),
    ],
)
def test_an_invalid_connection_is_unusable_with_the_reason(
    conn: dict[str, Any], problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn | {"password": PASSWORD}))
    transport = transport_for(
        dataclasses.replace(alert_settings(Path("/nonexistent")), alerts_delivery="smtp")
    )
    assert isinstance(transport, UnusableConnection)
    message = str(transport.error())
    assert problem in message and "'smtp_default'" in message and PASSWORD not in message


def test_the_providers_tls_fields_are_read_as_the_provider_means_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def read(**fields: Any) -> SmtpTransport:
        conn = {"conn_type": "smtp", "host": "smtp.example.com"} | fields
        monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(conn))
        transport = transport_from_airflow("smtp_default")
        assert transport is not None
        return transport

    implicit = read(extra={"disable_tls": True})  # the provider's default: SSL on
    assert (implicit.use_ssl, implicit.port, implicit.conn_id) == (True, 465, "smtp_default")
    submission = read(port=587, extra={"disable_ssl": True})
    assert (submission.use_ssl, submission.starttls, submission.port) == (False, True, 587)
    bare = read(port=587)  # neither key: STARTTLS except on 465
    assert (bare.use_ssl, bare.starttls) == (False, True)
    assert read(port=465).use_ssl
    unverified = read(extra={"ssl_context": "none", "disable_ssl": True})
    assert unverified.ssl_context.verify_mode == ssl.CERT_NONE


def test_eml_delivery_is_the_default_and_ignores_smtp_connections(
    server: Server, settings: Settings, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KAM_ALERTS_DELIVERY", raising=False)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", provider_conn(server.port))
    assert Settings.from_env().alerts_delivery == "eml"
    assert isinstance(transport_for(settings), EmlOutbox)
    summary = publish_as_configured(settings, state_path)
    assert summary["delivery"] == "eml" and summary["transport"] == f"eml:{settings.outbox_dir}"
    assert (summary["digests_written"], summary["digests_emailed"]) == (2, 0)
    assert summary["digests_pending"] == 0
    assert sorted(summary["files_written"]) == sorted(
        str(p) for p in settings.outbox_dir.glob("*.eml")
    )
    assert server.handler.messages == []


def test_an_unknown_delivery_mode_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAM_ALERTS_DELIVERY", "smpt")
    with pytest.raises(ValueError, match="KAM_ALERTS_DELIVERY='smpt' is not one of eml, smtp"):
        Settings.from_env()


def test_validation_failure_mail_goes_over_the_configured_smtp_connection(
    server: Server, smtp_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    failure = ExpectationOutcome(
        "customer_tiers", "expect_column_values_to_not_be_null", "abc_class", False, 3, 400, []
    )
    more = [  # a long report: over 1,000 bytes, which bare-LF line ends made one SMTP line
        ExpectationOutcome("customer_facts", "expect_column_values_to_be_between",
                           f"column_{i}", False, i, 400, [])
        for i in range(20)
    ]  # fmt: skip
    report = ValidationReport(as_of="2026-10-31", run_id="manual__1", outcomes=[failure, *more])
    with pytest.raises(DeliveryError, match="'smtp_default' is not defined"):
        notify_validation_failure(smtp_settings, report)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", provider_conn(server.port))
    notify_validation_failure(smtp_settings, report)
    (received,) = server.handler.messages
    assert received.rcpt_tos == [smtp_settings.data_team_email]
    body = received.message.get_body(("plain",)).get_content()
    assert "3 of 400 rows" in body and "column_19" in body
    assert len(received.content) > 1000 and b"\r\n" in received.content


# --------------------------------------------------------------------------- manager digests


def _team(manager: str, locale: str, owner: str) -> Any:
    from kam_transforms.alerts.team_source import AtRiskAccount, TeamMember, TeamScorecard

    member = TeamMember(owner, owner, 81.25, 3, 420000.0, 0.125, 0.9, 1)
    risk = AtRiskAccount("C001", "Acme Corp", owner, 250000.0, "red", 1, ("no_touchpoint",))
    return TeamScorecard(
        manager, "", locale, "Team", 80.5, 1, 3, 420000.0, 0.125, 2, 1, 0, 1, 0,
        100000.0, 90000.0, 0.9, 1.05, [member], [risk], 1,
    )  # fmt: skip


def test_manager_digests_go_over_smtp_once_and_an_unsent_one_stays_owed(
    server: Server, settings: Settings, state_path: Path
) -> None:
    teams = [_team("boss@example.com", "en", "Ann Lee"), _team("li@example.cn", "zh-CN", "王芳")]

    def send(day: dt.date, transport: SmtpTransport) -> dict[str, Any]:
        frame = ALERTS.assign(as_of_date=day)
        return publish_alerts(frame, day, settings, state_path, transport=transport,
                              crm_base_url="", team_scorecards=teams)  # fmt: skip

    with pytest.raises(DeliveryError):  # the relay is down at the month-end
        send(D0, plain(free_port()))
    # the next day is no month-end, yet the owed manager digests of D0 go out with it
    later = send(D0 + dt.timedelta(days=1), plain(server.port))
    assert (later["manager_digests_planned"], later["manager_digests_sent"]) == (2, 2)
    team = {tuple(m.rcpt_tos): m.message for m in server.handler.messages
            if m.message["Message-ID"].startswith("<team.")}  # fmt: skip
    assert set(team) == {("boss@example.com",), ("li@example.cn",)}
    en, zh = team[("boss@example.com",)], team[("li@example.cn",)]
    assert en["Subject"] == "KAM team Oct 2026: 1 account manager, 1 key account at risk"
    assert en["Message-ID"].startswith("<team.20261031.boss_at_example.")
    plain_en = en.get_body(preferencelist=("plain",)).get_content()
    assert "Ann Lee | 81.2 | 3 | $420,000 | 12.5% | 90%" in plain_en
    assert "Acme Corp (C001) | Ann Lee | $250,000 | health red, plan behind, high alert: " \
           "No recent touchpoint" in plain_en  # fmt: skip
    assert zh["Subject"] == "关键客户团队月度考核 2026年10月：1 位客户经理，1 个重点客户有风险"
    assert "王芳 | 81.2 | 3 | US$420,000 | 12.5% | 90%" in zh.get_body(("plain",)).get_content()

    count = len(server.handler.messages)
    again = send(D0 + dt.timedelta(days=1), plain(server.port))
    assert again["manager_digests_planned"] == 0 and len(server.handler.messages) == count
    with OutboxState(state_path) as state:
        rows = [d for d in state.deliveries() if d["delivery_id"].startswith("team.")]
    assert [(d["as_of"], d["status"]) for d in rows] == [("2026-10-31", "sent")] * 2
