"""Send rendered digests exactly once in effect, over SMTP or into an ``.eml`` outbox.

Protocol (per digest, see :func:`deliver`)
------------------------------------------
1. Record the intent: a ``pending`` delivery row holding the message bytes and its stable
   Message-ID, committed before anything is sent.
2. Ask the transport whether the digest already went out (the ``.eml`` outbox can tell: the
   file exists; SMTP cannot ask the server). If so, mark it ``sent`` and stop.
3. Send; then mark the delivery ``sent`` and its alerts notified, in one transaction.

A crash between 3's send and its mark leaves the row ``pending``; the next run of the same
as-of date sends the very same bytes again. The ``.eml`` outbox notices the file and writes
nothing, so it is fully idempotent. SMTP may deliver a second copy, but with the same
``Message-ID`` header, which mail clients and archives use to collapse duplicates; that is
the best an SMTP client can do, as SMTP has no way to ask whether a message was accepted
before the connection died.

A failed send raises :class:`DeliveryError` after recording the error: an unusable
transport (the connection missing or invalid, refused or dropped, TLS or login failing)
and other transient failures (timeouts, 4xx replies) stop the run and leave every row
``pending``; a permanent 5xx rejection of one message marks it ``failed`` and the others
are still tried. Both are retried by the next run of that date, and the
alerts of an unsent digest stay un-notified (and so are planned again by the next date's run,
which then supersedes the stale digest).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import smtplib
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kam_transforms.alerts.outbox import OutboxState
from kam_transforms.config import Settings

__all__ = [
    "DeliveryError",
    "DeliveryPlan",
    "DeliveryReport",
    "EmlOutbox",
    "PlannedDelivery",
    "SendResult",
    "SmtpTransport",
    "Transport",
    "UnusableConnection",
    "deliver",
    "smtp_transport",
    "transport_for",
    "transport_from_airflow",
]

log = logging.getLogger(__name__)

_SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


class DeliveryError(RuntimeError):
    """A digest could not be delivered. Names the endpoint and recipient, never credentials.

    Attributes
    ----------
    endpoint
        ``host:port`` (SMTP) or the outbox directory.
    recipient, delivery_id
        What failed.
    permanent
        True for a permanent rejection of one message (SMTP 5xx to MAIL, RCPT or DATA).
    connection
        True when the transport itself is unusable (connection missing or invalid, refused,
        TLS or login failed): the run stops there and every digest stays ``pending``.
    report
        The :class:`DeliveryReport` of the run, when raised by :func:`deliver`.
    """

    def __init__(
        self,
        message: str,
        *,
        endpoint: str | None = None,
        recipient: str | None = None,
        delivery_id: str | None = None,
        permanent: bool = False,
        connection: bool = False,
    ) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.recipient = recipient
        self.delivery_id = delivery_id
        self.permanent = permanent
        self.connection = connection
        self.report: DeliveryReport | None = None


@dataclass(frozen=True)
class SendResult:
    """What a transport did: the file it wrote (outbox) and any note (e.g. a refused cc)."""

    path: Path | None = None
    note: str | None = None


@runtime_checkable
class Transport(Protocol):
    """How digests leave: ``send`` raw RFC 5322 bytes to the envelope recipients."""

    description: str
    from_email: str | None

    def already_delivered(self, delivery_id: str) -> bool:
        """True when the transport can tell the digest already went out."""
        ...

    def send(
        self, message: bytes, *, delivery_id: str, sender: str, recipients: Sequence[str]
    ) -> SendResult:
        """Deliver the message; raise :class:`DeliveryError` on failure."""
        ...

    def close(self) -> None:
        """Release connections; called at the end of every :func:`deliver`."""
        ...


# --------------------------------------------------------------------------- .eml outbox


class EmlOutbox:
    """Writes each digest to ``<outbox_dir>/<delivery_id>.eml`` (the default transport).

    The file is written to a temporary name in the same directory, fsynced and moved into
    place with ``os.replace``, so a reader never sees half a message; an existing file means
    the digest was already delivered and is never rewritten.
    """

    from_email: str | None = None

    def __init__(self, outbox_dir: str | Path) -> None:
        self.outbox_dir = Path(outbox_dir)
        self.description = f"eml:{self.outbox_dir}"

    def path_for(self, delivery_id: str) -> Path:
        if not _SAFE_ID.match(delivery_id):
            raise ValueError(f"unsafe delivery id for a file name: {delivery_id!r}")
        return self.outbox_dir / f"{delivery_id}.eml"

    def already_delivered(self, delivery_id: str) -> bool:
        return self.path_for(delivery_id).exists()

    def send(
        self, message: bytes, *, delivery_id: str, sender: str, recipients: Sequence[str]
    ) -> SendResult:
        target = self.path_for(delivery_id)
        if target.exists():
            return SendResult(None, "already in the outbox")
        try:
            self.outbox_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(
                prefix=f".{delivery_id}.", suffix=".tmp", dir=self.outbox_dir
            )
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(message)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _fsync_dir(self.outbox_dir)
        except OSError as exc:
            raise DeliveryError(
                f"writing {delivery_id}.eml for {', '.join(recipients)} "
                f"into {self.outbox_dir} failed: {exc}",
                endpoint=str(self.outbox_dir),
                recipient=recipients[0] if recipients else None,
                delivery_id=delivery_id,
            ) from exc
        return SendResult(target)

    def close(self) -> None:
        return None


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------- SMTP


class SmtpTransport:
    """Sends over SMTP with :mod:`smtplib`, one connection reused across a run's digests.

    Parameters
    ----------
    host, port
        The relay.
    login, password
        Credentials, used only over TLS unless ``allow_plaintext_auth``.
    starttls
        Upgrade with STARTTLS (default); a server that does not offer it is an error, never
        a silent downgrade. Ignored with ``use_ssl`` (implicit TLS, port 465).
    ssl_context
        Defaults to :func:`ssl.create_default_context` (certificate and host name verified).
    timeout
        Seconds for connecting and for each command.
    from_email
        Sender address to use instead of ``Settings.mail_from``.
    conn_id
        The Airflow connection it was built from, named in errors.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        login: str | None = None,
        password: str | None = None,
        *,
        starttls: bool = True,
        use_ssl: bool = False,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 30.0,
        from_email: str | None = None,
        local_hostname: str | None = None,
        allow_plaintext_auth: bool = False,
        conn_id: str | None = None,
    ) -> None:
        if not host:
            raise ValueError("SMTP host is required")
        self.host = host
        self.port = int(port)
        self.login = login or None
        self._password = password
        self.starttls = starttls
        self.use_ssl = use_ssl
        self.ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()
        self.timeout = timeout
        self.from_email = from_email or None
        self.local_hostname = local_hostname
        self.allow_plaintext_auth = allow_plaintext_auth
        self.conn_id = conn_id
        self._smtp: smtplib.SMTP | None = None
        self.description = f"smtp://{host}:{self.port}"
        #: True once the current connection was upgraded with STARTTLS or is implicit TLS.
        self.encrypted = False

    @property
    def endpoint(self) -> str:
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        return (
            f"SmtpTransport(host={self.host!r}, port={self.port}, login={self.login!r}, "
            f"starttls={self.starttls}, use_ssl={self.use_ssl})"
        )

    def already_delivered(self, delivery_id: str) -> bool:
        # SMTP cannot ask the server whether a message was accepted; the stable Message-ID
        # lets the receiving side collapse a resend.
        return False

    def _connect(self) -> smtplib.SMTP:
        if self._smtp is not None:
            try:
                if self._smtp.noop()[0] == 250:
                    return self._smtp
            except (smtplib.SMTPException, OSError):
                pass
            self.close()
        smtp: smtplib.SMTP
        if self.use_ssl:
            smtp = smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=self.timeout,
                context=self.ssl_context,
            )
        else:
            smtp = smtplib.SMTP(
                self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
            )
        try:
            smtp.ehlo()
            encrypted = self.use_ssl
            if self.starttls and not self.use_ssl:
                if not smtp.has_extn("starttls"):
                    raise _Refusal("the server does not offer STARTTLS (starttls is required)")
                smtp.starttls(context=self.ssl_context)
                smtp.ehlo()
                encrypted = True
            if self.login:
                if not encrypted and not self.allow_plaintext_auth:
                    raise _Refusal(
                        "refusing to send credentials without TLS (enable starttls or use_ssl)"
                    )
                smtp.login(self.login, self._password or "")
        except BaseException:
            _quietly_close(smtp)
            raise
        self._smtp = smtp
        self.encrypted = encrypted
        return smtp

    def send(
        self, message: bytes, *, delivery_id: str, sender: str, recipients: Sequence[str]
    ) -> SendResult:
        recipient = recipients[0] if recipients else "?"
        failed = f"SMTP delivery of {delivery_id} to {recipient} via {self.endpoint} failed"
        try:
            smtp = self._connect()
        except (smtplib.SMTPException, OSError, _Refusal) as exc:
            # connecting, TLS or login failed: no message of this run can go out
            self.close()
            which = f"the Airflow connection {self.conn_id!r}" if self.conn_id else "the relay"
            raise DeliveryError(
                f"{failed}: {self._describe(exc)}; {which} is unusable: fix it and rerun "
                "(nothing was sent, every digest stays pending)",
                endpoint=self.endpoint,
                recipient=recipient,
                delivery_id=delivery_id,
                connection=True,
            ) from None
        try:
            refused = smtp.sendmail(sender, list(recipients), message)
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise DeliveryError(
                f"{failed}: {self._describe(exc)}",
                endpoint=self.endpoint,
                recipient=recipient,
                delivery_id=delivery_id,
                permanent=_is_permanent(exc),
            ) from None
        note = None
        if refused:
            note = "refused by the server: " + "; ".join(
                f"{address} ({code} {_text(reply)})"
                for address, (code, reply) in sorted(refused.items())
            )
            log.warning("%s: %s", delivery_id, note)
        return SendResult(None, note)

    def _describe(self, exc: BaseException) -> str:
        if isinstance(exc, smtplib.SMTPResponseException):
            detail = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        elif isinstance(exc, smtplib.SMTPRecipientsRefused):
            detail = "all recipients refused: " + "; ".join(
                f"{address} ({code} {_text(reply)})"
                for address, (code, reply) in sorted(exc.recipients.items())
            )
        elif isinstance(exc, ConnectionRefusedError):
            detail = "connection refused"
        elif isinstance(exc, smtplib.SMTPServerDisconnected):
            detail = f"server closed the connection ({exc})"
        elif isinstance(exc, TimeoutError):
            detail = f"timed out after {self.timeout:g}s"
        else:
            detail = f"{type(exc).__name__}: {exc}"
        if self._password:
            detail = detail.replace(self._password, "***")
        return detail

    def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        self.encrypted = False
        if smtp is not None:
            _quietly_close(smtp)


class _Refusal(Exception):
    """The client refuses to go on (no STARTTLS offered, credentials without TLS)."""


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


def _is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return 500 <= exc.smtp_code < 600
    return False


def _quietly_close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        smtp.close()


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "y", "on"}


def transport_from_airflow(conn_id: str = "smtp_default") -> SmtpTransport | None:
    """An :class:`SmtpTransport` from the Airflow connection ``conn_id``, or None if it does
    not exist.

    Reads the SMTP provider's standard connection (type ``smtp``): host, port, login,
    password and the extras ``from_email``, ``timeout``, ``disable_ssl``, ``disable_tls`` and
    ``ssl_context`` (``default`` or ``none``) as the provider means them (implicit SSL unless
    ``disable_ssl``, STARTTLS unless ``disable_tls``); the shorter ``ssl``, ``starttls`` and
    ``no_verify`` are accepted too. With none of these keys implicit TLS is used on port 465
    and STARTTLS everywhere else (required, never a silent downgrade). The provider's
    ``retry_limit`` is ignored: a message is sent at most once per attempt (see the module
    docstring).

    Raises
    ------
    ValueError
        When the connection cannot work (not of type smtp, no host, a bad port or TLS
        setting, OAuth2); the message never holds the password.
    """
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return None
    extra = conn.extra_dejson or {}
    if conn.conn_type and conn.conn_type != "smtp":
        raise ValueError(f"has type {conn.conn_type!r}, not 'smtp'")
    if not conn.host:
        raise ValueError("has no host")
    if str(extra.get("auth_type") or "basic") != "basic":
        raise ValueError(f"uses auth_type {extra['auth_type']!r}; only basic login is supported")
    port = int(conn.port) if conn.port else None
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"has port {port}, not 1-65535")
    if "ssl" in extra:
        use_ssl = _flag(extra["ssl"], False)
    elif "disable_ssl" in extra or "disable_tls" in extra:  # the provider's: SSL unless disabled
        use_ssl = not _flag(extra.get("disable_ssl"), False)
    else:
        use_ssl = port == 465
    if "starttls" in extra:
        starttls = _flag(extra["starttls"], True)
    else:
        starttls = not _flag(extra.get("disable_tls"), False)
    verify = extra.get("ssl_context") or "default"
    if verify not in ("default", "none"):
        raise ValueError(f"has ssl_context {verify!r}, not 'default' or 'none'")
    context = ssl.create_default_context()
    if _flag(extra.get("no_verify"), False) or verify == "none":
        log.warning("connection %s: TLS certificate verification is off", conn_id)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    try:
        timeout = float(extra.get("timeout") or 30)
    except (TypeError, ValueError):
        raise ValueError(f"has timeout {extra.get('timeout')!r}, not a number") from None
    return SmtpTransport(
        host=conn.host,
        port=port or (465 if use_ssl else 587),
        login=conn.login or None,
        password=conn.password or None,
        starttls=starttls,
        use_ssl=use_ssl,
        ssl_context=context,
        timeout=timeout,
        from_email=extra.get("from_email") or None,
        conn_id=conn_id,
    )


class UnusableConnection:
    """The transport of ``KAM_ALERTS_DELIVERY=smtp`` when its connection is missing or invalid.

    Nothing can be sent: :func:`deliver` records every digest ``pending`` and then raises a
    :class:`DeliveryError` naming the connection (also when there was nothing to send), so
    the task fails and a run with the connection fixed delivers the digests.
    """

    from_email: str | None = None

    def __init__(self, conn_id: str, problem: str) -> None:
        self.conn_id = conn_id
        self.problem = problem
        self.description = f"smtp:{conn_id} (unusable)"

    def error(self, delivery_id: str | None = None, recipient: str | None = None) -> DeliveryError:
        return DeliveryError(
            f"KAM_ALERTS_DELIVERY=smtp but the Airflow connection {self.conn_id!r} "
            f"{self.problem}; nothing was sent and every digest stays pending: fix the "
            "connection (or KAM_SMTP_CONN_ID) and rerun the alerts task",
            endpoint=f"connection {self.conn_id}",
            recipient=recipient,
            delivery_id=delivery_id,
            connection=True,
        )

    def already_delivered(self, delivery_id: str) -> bool:
        return False

    def send(
        self, message: bytes, *, delivery_id: str, sender: str, recipients: Sequence[str]
    ) -> SendResult:
        raise self.error(delivery_id, recipients[0] if recipients else None)

    def close(self) -> None:
        return None


def smtp_transport(conn_id: str) -> SmtpTransport | UnusableConnection:
    """The SMTP transport of the Airflow connection ``conn_id``, or an
    :class:`UnusableConnection` saying why there is none."""
    try:
        transport = transport_from_airflow(conn_id)
    except ValueError as exc:
        return UnusableConnection(conn_id, f"{exc} (it needs type smtp, host, port, login)")
    if transport is None:
        return UnusableConnection(
            conn_id, "is not defined (create it: type smtp, host, port, login, password)"
        )
    return transport


def transport_for(settings: Settings) -> Transport:
    """The transport ``settings.alerts_delivery`` asks for: the ``.eml`` outbox, or SMTP
    through the Airflow connection ``settings.smtp_conn_id``."""
    if settings.alerts_delivery == "smtp":
        return smtp_transport(settings.smtp_conn_id)
    return EmlOutbox(settings.outbox_dir)


# --------------------------------------------------------------------------- deliver


@dataclass(frozen=True)
class PlannedDelivery:
    """One rendered digest to deliver."""

    delivery_id: str
    recipient: str
    cc: tuple[str, ...]
    locale: str
    message: EmailMessage
    alert_severities: dict[str, str]

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])


@dataclass
class DeliveryPlan:
    """The digests of one run and the envelope sender."""

    as_of: dt.date
    envelope_from: str
    items: list[PlannedDelivery] = field(default_factory=list)


@dataclass
class DeliveryReport:
    """What :func:`deliver` did, by delivery id."""

    sent: list[str] = field(default_factory=list)
    already_delivered: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    superseded: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    not_attempted: list[str] = field(default_factory=list)
    files_written: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def deliver(plan: DeliveryPlan, transport: Transport, state: OutboxState) -> DeliveryReport:
    """Deliver ``plan`` through ``transport``, recording every step in ``state``.

    Unsent deliveries of this or earlier dates that the plan does not contain are marked
    ``superseded`` (their alerts, still un-notified, are in this plan if still open). Every
    digest is recorded ``pending`` before the first send. A digest already ``sent`` is
    skipped, so a rerun of a finished date sends nothing.

    Raises
    ------
    DeliveryError
        After trying, when any digest failed; ``.report`` holds the run's report. A
        transient failure stops the run (the rest stay ``pending``); a permanent rejection
        of one digest does not stop the others.
    """
    report = DeliveryReport()
    planned = {item.delivery_id for item in plan.items}
    for leftover in state.unsent_deliveries(plan.as_of):
        if leftover["delivery_id"] not in planned:
            state.mark_superseded(leftover["delivery_id"], plan.as_of)
            report.superseded.append(leftover["delivery_id"])

    rows = []
    for item in plan.items:
        row = state.record_intent(
            delivery_id=item.delivery_id,
            recipient=item.recipient,
            cc=item.cc,
            as_of=plan.as_of,
            message=item.message.as_bytes(),
            alert_severities=item.alert_severities,
        )
        rows.append(row)

    failures: list[DeliveryError] = []
    try:
        for position, row in enumerate(rows):
            delivery_id = row["delivery_id"]
            if row["status"] == "sent":
                report.already_sent.append(delivery_id)
                continue
            if transport.already_delivered(delivery_id):
                state.mark_sent(delivery_id, note="found already delivered by the transport")
                report.already_delivered.append(delivery_id)
                continue
            recipients = [row["recipient"], *[a for a in row["cc"].split(",") if a]]
            state.mark_attempt(delivery_id)
            try:
                result = transport.send(
                    row["message"],
                    delivery_id=delivery_id,
                    sender=plan.envelope_from,
                    recipients=recipients,
                )
            except DeliveryError as exc:
                state.mark_error(delivery_id, str(exc), permanent=exc.permanent)
                report.failed.append(delivery_id)
                report.errors.append(str(exc))
                failures.append(exc)
                log.error("%s", exc)
                if not exc.permanent:
                    report.not_attempted.extend(r["delivery_id"] for r in rows[position + 1 :])
                    break
                continue
            state.mark_sent(delivery_id, note=result.note)
            report.sent.append(delivery_id)
            if result.path is not None:
                report.files_written.append(str(result.path))
            log.info(
                "sent digest %s to %s via %s", delivery_id, row["recipient"], transport.description
            )
    finally:
        transport.close()

    if not failures and isinstance(transport, UnusableConnection):
        unusable = transport.error()  # nothing to send this time, but the next run cannot
        unusable.report = report
        raise unusable
    if failures:
        first = failures[0]
        more = f" (and {len(failures) - 1} more failed)" if len(failures) > 1 else ""
        pending = len(report.not_attempted) + sum(not f.permanent for f in failures)
        stopped = f"; {pending} digest(s) left pending" if pending else ""
        error = DeliveryError(
            f"{first}{more}{stopped}",
            endpoint=first.endpoint,
            recipient=first.recipient,
            delivery_id=first.delivery_id,
            permanent=all(f.permanent for f in failures),
            connection=first.connection,
        )
        error.report = report
        raise error
    return report
