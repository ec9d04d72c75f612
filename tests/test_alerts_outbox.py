"""Alert state and the .eml outbox: dedup, close, escalate, remind, snooze, crash safety."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import sqlite3
from collections.abc import Sequence
from email import policy
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alert_fixtures import alert_frame, alert_row, alert_settings

from kam_transforms.alerts import (
    ALERT_COLUMNS,
    DeliveryError,
    EmlOutbox,
    OutboxState,
    SendResult,
    Snooze,
    load_snoozes,
    preview_alerts,
    publish_alerts,
    read_alerts,
)
from kam_transforms.config import Settings

D0 = dt.date(2026, 10, 31)


def day(n: int) -> dt.date:
    return D0 + dt.timedelta(days=n)


def alert(as_of: dt.date = D0, **overrides: Any) -> dict[str, Any]:
    return alert_row(**{"as_of_date": as_of, "severity": "medium", **overrides})


frame = alert_frame


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return alert_settings(tmp_path, mail_from="kam-alerts@example.com")


@pytest.fixture
def state_path(tmp_path: Path) -> Path:
    return tmp_path / "alerts_state.sqlite"


def publish(
    settings: Settings, state_path: Path, df: pd.DataFrame, as_of: dt.date, **kw: Any
) -> dict:
    kw.setdefault("crm_base_url", "")
    return publish_alerts(df, as_of, settings, state_path, **kw)


def eml_files(settings: Settings) -> list[Path]:
    return sorted(settings.outbox_dir.glob("*.eml")) if settings.outbox_dir.exists() else []


def read_eml(path: Path) -> email.message.EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def text_of(msg: email.message.EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain",))
    assert part is not None
    return part.get_content().replace("\r\n", "\n")


def state_alert(state_path: Path, key: str) -> dict[str, Any]:
    with OutboxState(state_path) as state:
        row = state.alert(key)
    assert row is not None
    return row


def test_state_schema(state_path: Path) -> None:
    OutboxState(state_path).close()
    db = sqlite3.connect(state_path)
    columns = {
        table: [r[1] for r in db.execute(f"PRAGMA table_info({table})")]  # noqa: S608 - fixed names
        for table in ("alerts", "deliveries", "delivery_alerts", "runs")
    }
    db.close()
    assert columns["alerts"][:10] == [
        "dedup_key", "customer_id", "rule_id", "severity", "first_seen", "last_seen",
        "last_notified", "notified_severity", "status", "closed_at",
    ]  # fmt: skip
    assert columns["deliveries"] == [
        "delivery_id", "recipient", "cc", "as_of", "status", "attempts", "last_error",
        "created_at", "sent_at", "message",
    ]  # fmt: skip


def test_two_runs_of_the_same_date_deliver_each_digest_once(
    settings: Settings, state_path: Path
) -> None:
    df = frame(
        alert(),
        alert(customer_id="C002", customer_name="北京华信", owner_name="王芳",
              owner_email="wang@example.cn", owner_locale="zh-CN"),
    )  # fmt: skip
    first = publish(settings, state_path, df, D0)
    assert first["alerts_new"] == 2 and first["digests_sent"] == 2
    assert first["recipients"] == ["ann@example.com", "wang@example.cn"]
    files = eml_files(settings)
    assert [str(p) for p in files] == sorted(first["files_written"])
    contents = [p.read_bytes() for p in files]
    assert sorted(read_eml(p)["Message-ID"] for p in files) == first["message_ids"]

    second = publish(settings, state_path, df, D0)
    assert second["digests_planned"] == 0 and second["digests_sent"] == 0
    assert second["alerts_new"] == 0 and second["alerts_unchanged"] == 2
    assert second["files_written"] == [] and second["recipients"] == []
    assert [p.read_bytes() for p in eml_files(settings)] == contents

    with OutboxState(state_path) as state:
        deliveries = state.deliveries(D0)
    assert [(d["status"], d["attempts"]) for d in deliveries] == [("sent", 1), ("sent", 1)]
    # timestamps derive from as_of, never the clock
    assert {(d["created_at"], d["sent_at"]) for d in deliveries} == {
        ("2026-10-31T00:00:00Z", "2026-10-31T00:00:00Z")
    }
    row = state_alert(state_path, "C001|no_touchpoint")
    assert (row["first_seen"], row["last_seen"], row["last_notified"], row["status"]) == (
        "2026-10-31", "2026-10-31", "2026-10-31", "open",
    )  # fmt: skip


def test_same_input_gives_identical_files(tmp_path: Path, settings: Settings) -> None:
    df = frame(alert(), alert(customer_id="C002", severity="high"))
    other = dataclasses.replace(settings, outbox_dir=tmp_path / "other" / "outbox")
    publish(settings, tmp_path / "a.sqlite", df, D0)
    publish(other, tmp_path / "b.sqlite", df, D0)
    assert [p.read_bytes() for p in eml_files(settings)] == [
        p.read_bytes() for p in eml_files(other)
    ]


def test_cleared_condition_closes_the_alert_and_sends_nothing(
    settings: Settings, state_path: Path
) -> None:
    publish(settings, state_path, frame(alert(), alert(customer_id="C002")), D0)
    summary = publish(settings, state_path, frame(alert(day(1), customer_id="C002")), day(1))
    assert summary["alerts_closed"] == 1 and summary["digests_sent"] == 0
    assert len(eml_files(settings)) == 1
    closed = state_alert(state_path, "C001|no_touchpoint")
    assert (closed["status"], closed["closed_at"]) == ("closed", "2026-11-01")
    assert state_alert(state_path, "C002|no_touchpoint")["status"] == "open"
    # an empty frame closes the rest
    assert publish(settings, state_path, frame(), day(2))["alerts_closed"] == 1


def test_reappearing_alert_is_notified_again(settings: Settings, state_path: Path) -> None:
    publish(settings, state_path, frame(alert()), D0)
    publish(settings, state_path, frame(), day(1))
    summary = publish(settings, state_path, frame(alert(day(2))), day(2))
    assert summary["alerts_reopened"] == 1 and summary["digests_sent"] == 1
    row = state_alert(state_path, "C001|no_touchpoint")
    assert (row["status"], row["first_seen"], row["last_notified"]) == (
        "open",
        "2026-11-02",
        "2026-11-02",
    )


def test_severity_rise_renotifies(settings: Settings, state_path: Path) -> None:
    publish(settings, state_path, frame(alert(severity="medium")), D0)
    assert (
        publish(settings, state_path, frame(alert(day(1), severity="medium")), day(1))[
            "digests_sent"
        ]
        == 0
    )
    # falling severity is recorded but not sent
    lower = publish(settings, state_path, frame(alert(day(2), severity="low")), day(2))
    assert (lower["alerts_updated"], lower["digests_sent"]) == (1, 0)
    # rising above the last *notified* severity is sent, once
    higher = publish(settings, state_path, frame(alert(day(3), severity="high")), day(3))
    assert (higher["alerts_updated"], higher["digests_sent"]) == (1, 1)
    assert (
        publish(settings, state_path, frame(alert(day(3), severity="high")), day(3))["digests_sent"]
        == 0
    )
    msg = read_eml(Path(higher["files_written"][0]))
    assert "[HIGH] No recent touchpoint - Severity raised" in text_of(msg)
    assert msg["Cc"] == "boss@example.com"  # high severity copies the manager
    row = state_alert(state_path, "C001|no_touchpoint")
    assert (row["severity"], row["notified_severity"], row["last_notified"]) == (
        "high",
        "high",
        "2026-11-03",
    )


def test_renotify_interval(settings: Settings, state_path: Path) -> None:
    sent = []
    for n in range(0, 15):
        summary = publish(settings, state_path, frame(alert(day(n))), day(n), renotify_after_days=7)
        sent.append(summary["digests_sent"])
    assert [n for n, count in enumerate(sent) if count] == [0, 7, 14]
    reminder = read_eml(sorted(eml_files(settings))[1])
    assert "Reminder: open since Oct 31, 2026" in text_of(reminder)


def test_no_reminders_when_disabled(settings: Settings, state_path: Path) -> None:
    sent = [
        publish(settings, state_path, frame(alert(day(n))), day(n), renotify_after_days=None)[
            "digests_sent"
        ]
        for n in (0, 7, 30)
    ]
    assert sent == [1, 0, 0]
    with pytest.raises(ValueError, match="renotify_after_days"):
        publish(settings, state_path, frame(alert(day(31))), day(31), renotify_after_days=0)


def test_snoozed_alert_waits_until_after_its_date(
    settings: Settings, state_path: Path, tmp_path: Path
) -> None:
    snoozes = tmp_path / "snoozes.csv"
    snoozes.write_text(
        "customer_id,rule_id,until_date,reason\n"
        "C001,*,2026-11-02,Renewal meeting booked\n"
        "C002,overdue_invoices,2026-11-01,Payment plan agreed\n"
        "\n",
        encoding="utf-8",
    )
    assert load_snoozes(snoozes)[0] == Snooze(
        "C001", "*", dt.date(2026, 11, 2), "Renewal meeting booked"
    )

    def rows(as_of: dt.date) -> pd.DataFrame:
        return frame(
            alert(as_of),
            alert(as_of, customer_id="C002", rule_id="overdue_invoices", alert_type="payment"),
            alert(as_of, customer_id="C002", rule_id="no_touchpoint"),
        )

    recipients_alerts: list[tuple[int, list[str]]] = []
    for n in range(0, 4):
        summary = publish(settings, state_path, rows(day(n)), day(n), snoozes=snoozes)
        keys: list[str] = []
        for path in summary["files_written"]:
            with OutboxState(state_path) as state:
                keys += state.delivery_alert_keys(Path(path).stem)
        recipients_alerts.append((summary["alerts_snoozed"], sorted(keys)))
    assert recipients_alerts == [
        (2, ["C002|no_touchpoint"]),  # 10-31: the C002 touchpoint alert is not snoozed
        (2, []),  # 11-01: both snoozes hold (until_date inclusive)
        (1, ["C002|overdue_invoices"]),  # 11-02: C002's snooze is over, C001's holds
        (0, ["C001|no_touchpoint"]),  # 11-03: C001's snooze is over
    ]


def test_bad_snooze_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "snoozes.csv"
    bad.write_text("customer_id,rule_id,until_date\nC001,*,next week\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"snoozes.csv:2: until_date 'next week'"):
        load_snoozes(bad)
    bad.write_text("customer_id,until_date\nC001,2026-01-01\n", encoding="utf-8")
    with pytest.raises(ValueError, match="rule_id"):
        load_snoozes(bad)


def test_crash_between_send_and_record_delivers_one_file(
    settings: Settings, state_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    df = frame(alert())

    def crash(self: OutboxState, delivery_id: str, note: str | None = None) -> None:
        raise RuntimeError("worker killed after the send")

    with monkeypatch.context() as patch:
        patch.setattr(OutboxState, "mark_sent", crash)
        with pytest.raises(RuntimeError, match="worker killed"):
            publish(settings, state_path, df, D0)
    [written] = eml_files(settings)
    with OutboxState(state_path) as state:
        [pending] = state.deliveries(D0)
    assert pending["status"] == "pending" and pending["attempts"] == 1
    assert written.stem == pending["delivery_id"]
    assert state_alert(state_path, "C001|no_touchpoint")["last_notified"] is None

    before = written.read_bytes()
    summary = publish(settings, state_path, df, D0)
    assert summary["digests_sent"] == 0 and summary["digests_already_delivered"] == 1
    assert summary["files_written"] == []
    assert eml_files(settings) == [written] and written.read_bytes() == before
    with OutboxState(state_path) as state:
        [done] = state.deliveries(D0)
    assert done["status"] == "sent"
    assert state_alert(state_path, "C001|no_touchpoint")["last_notified"] == "2026-10-31"
    assert publish(settings, state_path, df, D0)["digests_planned"] == 0


class FailingTransport:
    """Fails every send like an unreachable relay."""

    description = "failing"
    from_email = None

    def __init__(self) -> None:
        self.calls = 0

    def already_delivered(self, delivery_id: str) -> bool:
        return False

    def send(
        self, message: bytes, *, delivery_id: str, sender: str, recipients: Sequence[str]
    ) -> SendResult:
        self.calls += 1
        raise DeliveryError(f"relay down for {recipients[0]}", recipient=recipients[0])

    def close(self) -> None:
        pass


def test_failed_digest_is_retried_with_the_same_message(
    settings: Settings, state_path: Path
) -> None:
    df = frame(alert(), alert(customer_id="C2", owner_email="bob@example.com", owner_name="Bob"))
    failing = FailingTransport()
    with pytest.raises(DeliveryError, match="relay down") as raised:
        publish(settings, state_path, df, D0, transport=failing)
    assert failing.calls == 1  # a transient failure stops the run
    assert raised.value.report is not None and len(raised.value.report.not_attempted) == 1
    with OutboxState(state_path) as state:
        pending = state.deliveries(D0)
        stored = {d["delivery_id"]: state.delivery(d["delivery_id"]) for d in pending}
    assert [d["status"] for d in pending] == ["pending", "pending"]
    assert all(
        state_alert(state_path, k)["last_notified"] is None
        for k in ("C001|no_touchpoint", "C2|no_touchpoint")
    )

    summary = publish(settings, state_path, df, D0)
    assert summary["digests_sent"] == 2
    for path in eml_files(settings):
        row = stored[path.stem]
        assert row is not None and path.read_bytes() == row["message"]


def test_unsent_digest_is_superseded_by_the_next_date(settings: Settings, state_path: Path) -> None:
    with pytest.raises(DeliveryError):
        publish(settings, state_path, frame(alert()), D0, transport=FailingTransport())
    summary = publish(settings, state_path, frame(alert(day(1))), day(1))
    assert summary["digests_superseded"] == 1 and summary["digests_sent"] == 1
    with OutboxState(state_path) as state:
        statuses = [(d["as_of"], d["status"]) for d in state.deliveries()]
    assert statuses == [("2026-10-31", "superseded"), ("2026-11-01", "sent")]
    [path] = eml_files(settings)
    assert "- New" in text_of(read_eml(path))  # never notified, so still new on 11-01


def test_older_date_after_a_newer_one_changes_nothing(settings: Settings, state_path: Path) -> None:
    publish(settings, state_path, frame(alert(day(1))), day(1))
    summary = publish(settings, state_path, frame(), D0)
    assert summary["stale_after"] == "2026-11-01"
    assert summary["alerts_closed"] == 0 and summary["digests_sent"] == 0
    assert state_alert(state_path, "C001|no_touchpoint")["status"] == "open"


def test_preview_reads_but_never_writes_the_state(settings: Settings, state_path: Path) -> None:
    df = frame(alert())
    assert len(preview_alerts(df, D0, settings, state_path)) == 1
    assert not state_path.exists() and eml_files(settings) == []
    publish(settings, state_path, df, D0)
    before = state_path.read_bytes()
    assert preview_alerts(df, D0, settings, state_path) == []  # already notified
    assert (
        len(preview_alerts(frame(alert(day(1), severity="high")), day(1), settings, state_path))
        == 1
    )
    assert state_path.read_bytes() == before and len(eml_files(settings)) == 1


def test_default_state_path_is_next_to_the_outbox(settings: Settings) -> None:
    summary = publish_alerts(frame(alert()), D0, settings, None, crm_base_url="")
    assert summary["state_path"] == str(settings.home / "alerts_state.sqlite")
    assert summary["transport"] == f"eml:{settings.outbox_dir}"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"severity": "urgent"}, "severity 'urgent'"),
        ({"as_of_date": dt.date(2026, 10, 30)}, "differs from the run date"),
        ({"customer_id": None}, "customer_id is empty"),
    ],
)
def test_invalid_alert_rows_are_rejected(
    settings: Settings, state_path: Path, change: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        publish(settings, state_path, frame(alert(**change)), D0)


def test_missing_columns_and_duplicate_keys_are_rejected(
    settings: Settings, state_path: Path
) -> None:
    with pytest.raises(ValueError, match="lacks the key_account_alerts columns: owner_locale"):
        publish(settings, state_path, frame(alert()).drop(columns=["owner_locale"]), D0)
    with pytest.raises(ValueError, match="duplicate dedup_key"):
        publish(settings, state_path, frame(alert(), alert()), D0)


def test_eml_outbox_is_idempotent_and_atomic(tmp_path: Path) -> None:
    outbox = EmlOutbox(tmp_path / "out")
    first = outbox.send(
        b"one", delivery_id="kam.1", sender="a@example.com", recipients=["b@example.com"]
    )
    second = outbox.send(
        b"two", delivery_id="kam.1", sender="a@example.com", recipients=["b@example.com"]
    )
    assert first.path == tmp_path / "out" / "kam.1.eml" and second.path is None
    assert (tmp_path / "out" / "kam.1.eml").read_bytes() == b"one"
    assert outbox.already_delivered("kam.1") and not outbox.already_delivered("kam.2")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["kam.1.eml"]  # no temp files left
    with pytest.raises(ValueError, match="unsafe"):
        outbox.send(
            b"x", delivery_id="../escape", sender="a@example.com", recipients=["b@example.com"]
        )


def test_read_alerts_from_the_serving_warehouse(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "serving.duckdb"
    source = frame(alert(), alert(day(1), customer_id="C002"))
    source["owner_is_active"] = source["owner_is_active"].astype(bool)
    with duckdb.connect(str(db)) as con:
        con.register("source", source)
        con.execute(
            "create table key_account_alerts as select *, 'extra' as extra_column from source"
        )
    rows = read_alerts(db, "2026-10-31")
    assert list(rows.columns) == list(ALERT_COLUMNS)
    assert rows["dedup_key"].tolist() == ["C001|no_touchpoint"]
    with OutboxState(tmp_path / "state.sqlite") as state:
        assert [a.row.dedup_key for a in state.plan(rows, D0, dry_run=True).to_notify] == [
            "C001|no_touchpoint"
        ]
    with pytest.raises(ValueError, match="not a table name"):
        read_alerts(db, D0, table="x; drop table y")


def test_whitespace_opportunity_is_not_repeated_within_its_month(
    settings: Settings, state_path: Path
) -> None:
    key = "C001|whitespace_opportunity|2026-11"
    for offset in range(1, 31):  # every day of November
        as_of = day(offset)
        whitespace = alert(
            as_of, rule_id="whitespace_opportunity", alert_type="opportunity", severity="low",
            dedup_key=key, reason="Does not buy Software.",
        )  # fmt: skip
        publish(settings, state_path, frame(whitespace, alert(as_of)), as_of)
    # the other rule is reminded every 7 days; the whitespace alert went out once, on the 1st
    assert state_alert(state_path, "C001|no_touchpoint")["last_notified"] == "2026-11-29"
    assert state_alert(state_path, key)["last_notified"] == "2026-11-01"
