"""Run integrity without a build: locks held by real second processes, publish staging and
verification, rollback without a serving file, unique extract tmp files, the base currency,
bidirectional controls in mail text."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kam_transforms.locks import LockHeld, extract_lock_name, hold, holder, lock_path

HOLDER = """
import sys, time
from pathlib import Path
from kam_transforms.locks import hold
with hold(Path(sys.argv[1]), sys.argv[2], sys.argv[3], as_of="2026-10-31"):
    print("held", flush=True)
    time.sleep(float(sys.argv[4]))
"""


def start_holder(home: Path, name: str, step: str, seconds: float = 60) -> subprocess.Popen:
    """A real second process holding ``name`` until it is killed (or ``seconds`` pass)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(home), name, step, str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "held"
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_second_process_is_refused_at_once_naming_the_holder(tmp_path: Path) -> None:
    other = start_holder(tmp_path, "warehouse", "publish")
    try:
        started = time.monotonic()
        with pytest.raises(LockHeld) as refused, hold(tmp_path, "warehouse", "build"):
            pytest.fail("the lock held by another process was taken")
        assert time.monotonic() - started < 1  # no waiting by default
        message = str(refused.value)
        assert message.startswith(f"build: another run holds the lock {tmp_path}/locks/")
        assert f"pid {other.pid} " in message
        assert "step publish as of 2026-10-31, since 20" in message
        record = holder(tmp_path, "warehouse")
        assert record is not None and (record.pid, record.step) == (other.pid, "publish")
    finally:
        stop(other)


def test_sigkilled_holder_releases_the_lock(tmp_path: Path) -> None:
    other = start_holder(tmp_path, "alerts", "alerts send")
    os.kill(other.pid, signal.SIGKILL)
    other.wait(10)
    assert holder(tmp_path, "alerts") is None
    with hold(tmp_path, "alerts", "alerts send") as record:
        assert record.pid == os.getpid()
        assert holder(tmp_path, "alerts") is not None  # visible to others while held
    assert lock_path(tmp_path, "alerts").exists()  # never deleted: no unlink race
    assert lock_path(tmp_path, "alerts").read_text() == ""  # the record goes with the lock


def test_timeout_waits_for_the_holder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = start_holder(tmp_path, "warehouse", "validate", seconds=1.5)
    try:
        monkeypatch.setenv("KAM_LOCK_TIMEOUT", "30")
        with hold(tmp_path, "warehouse", "publish") as record:
            assert record.step == "publish"
        assert other.wait(10) == 0  # it finished, then we got the lock
        monkeypatch.setenv("KAM_LOCK_TIMEOUT", "soon")
        with pytest.raises(ValueError, match="KAM_LOCK_TIMEOUT='soon' is not a number"):
            with hold(tmp_path, "warehouse", "publish"):
                pass
    finally:
        stop(other)


def test_extracts_of_different_entities_run_in_parallel(tmp_path: Path) -> None:
    other = start_holder(tmp_path, extract_lock_name("crm", "accounts"), "extract crm/accounts")
    try:
        with hold(tmp_path, extract_lock_name("crm", "owners"), "extract crm/owners"):
            pass
        with pytest.raises(LockHeld, match=r"extract crm/accounts: another run holds"):
            with hold(tmp_path, extract_lock_name("crm", "accounts"), "extract crm/accounts"):
                pass
    finally:
        stop(other)


def test_kam_extract_is_refused_while_its_entity_is_extracted(tmp_path: Path) -> None:
    home = tmp_path / "kam"
    other = start_holder(home, extract_lock_name("erp", "fx_rates"), "extract erp/fx_rates")
    try:
        env = os.environ | {"KAM_HOME": str(home)}
        proc = subprocess.run(
            [Path(sys.executable).parent / "kam", "extract", "--as-of", "2026-10-31",
             "--source", "erp", "--entity", "fx_rates"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )
        assert proc.returncode == 1
        assert "another run holds the lock" in proc.stderr
        assert f"pid {other.pid} " in proc.stderr
        assert proc.stdout == ""
    finally:
        stop(other)


# ---------------------------------------------------------------- publish and rollback


def _build(path: Path, rows: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema if not exists main_marts")
        con.execute(
            "create or replace table main_marts.customer_tiers "
            "(customer_id varchar primary key, abc_class varchar not null)"
        )
        con.execute(
            "insert into main_marts.customer_tiers select 'C' || i, 'A' from range(?) t(i)",
            [rows],
        )
        con.execute("comment on column main_marts.customer_tiers.abc_class is 'A, B or C'")


def _published(serving: Path) -> tuple:
    with duckdb.connect(str(serving), read_only=True) as con:
        row = con.execute("select as_of, build_id from _kam_publish_log").fetchone()
        count = con.execute("select count(*) from customer_tiers").fetchone()
    assert row is not None and count is not None
    return (str(row[0]), row[1], count[0])


def test_publish_stages_under_its_own_name_and_records_the_build(tmp_path: Path) -> None:
    from kam_transforms.warehouse import Relation, publish

    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    _build(build, 5)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    leftover = tmp_path / f".serving.duckdb.{dead.stdout.strip()}-abc123.new"
    leftover.write_bytes(b"half a file from a publish that was killed")
    marts = [Relation("main_marts", "customer_tiers")]
    assert publish(build, serving, marts, date(2026, 10, 31), "r1", build_id="b1") == {
        "customer_tiers": 5
    }
    assert _published(serving) == ("2026-10-31", "b1", 5)
    assert not leftover.exists()  # a dead publish's staging is cleaned up
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb"]


def test_verification_refuses_a_staged_file_that_is_not_the_build(tmp_path: Path) -> None:
    from kam_transforms.warehouse import PublishError, Relation, _verify_staged

    build, staged = tmp_path / "build.duckdb", tmp_path / ".serving.duckdb.1-ab.new"
    _build(build, 5)
    with duckdb.connect(str(staged)) as con:
        con.execute("create table customer_tiers (customer_id varchar, abc_class varchar)")
        con.execute("insert into customer_tiers values ('C0', 'A')")
        con.execute("create table _kam_publish_log (as_of date, run_id varchar, "
                    "tables varchar, build_id varchar)")
        con.execute("insert into _kam_publish_log values ('2026-10-31', 'r', '{}', 'b1')")
    marts = [Relation("main_marts", "customer_tiers"), Relation("main_marts", "dim_customers")]
    with pytest.raises(PublishError) as refused:
        _verify_staged(
            staged, build, marts, {"customer_tiers": 5}, date(2026, 10, 31), "b1", "v1.0.0"
        )
    message = str(refused.value)
    assert message.startswith(f"{staged}: the staged serving warehouse is not the whole build")
    assert "customer_tiers: 1 rows staged, 5 in the build, 5 copied" in message
    assert "customer_tiers: columns" in message  # lost its not-null contract
    assert "customer_tiers: table or column comments differ from the build's" in message
    assert "dim_customers: missing" in message
    # written by DuckDB 2.0 in its own format, which no DuckDB 1.x reads
    assert "storage version v2.0.0+, asked for v1.0.0" in message


def test_rollback_works_when_serving_is_missing(tmp_path: Path) -> None:
    from kam_transforms.warehouse import Relation, previous_path, publish, rollback

    build, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    marts = [Relation("main_marts", "customer_tiers")]
    _build(build, 3)
    publish(build, serving, marts, date(2026, 10, 30), "r1", build_id="b1")
    _build(build, 4)
    publish(build, serving, marts, date(2026, 10, 31), "r2", build_id="b2")
    serving.unlink()  # lost, deleted by hand, or a disk restore without it
    rollback(serving)
    assert _published(serving) == ("2026-10-30", "b1", 3)
    assert not previous_path(serving).exists()


# ---------------------------------------------------------------- extract tmp files


def test_two_extracts_of_one_entity_never_share_or_delete_a_live_tmp(tmp_path: Path) -> None:
    from kam_transforms.extract.landing import _clean_stale_tmp, _tmp_path

    target = tmp_path / "raw" / "batch.parquet"
    first, second = _tmp_path(target), _tmp_path(target)
    for tmp in (first, second):
        pq.write_table(pa.table({"x": [1, 2]}), tmp)
    assert first != second and first.exists() and second.exists()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    orphan = target.with_name(f".{target.name}.{dead}-0badc0de.tmp")
    orphan.write_bytes(b"left by an extract that was killed")
    legacy = target.with_name(f".{target.name}.tmp")
    legacy.write_bytes(b"old naming")
    _clean_stale_tmp(target.parent)  # what another extract of the entity does first
    assert first.exists() and second.exists()  # ours (a live pid) survive
    assert not orphan.exists() and not legacy.exists()


# ---------------------------------------------------------------- base currency


@pytest.mark.parametrize(
    "value", ["USD' or 1=1 --", "usd", "US", "USDX", "XYZ", "", "ＵＳＤ"]
)
def test_base_currency_must_be_an_iso_4217_code(
    value: str, kam_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kam_transforms.config import Settings

    monkeypatch.setenv("KAM_BASE_CURRENCY", value)
    with pytest.raises(ValueError, match="is not an ISO 4217 currency code") as refused:
        Settings.from_env()
    assert f"KAM_BASE_CURRENCY={value!r}" in str(refused.value)


def test_valid_base_currency_reaches_dbt(kam_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kam_transforms.config import Settings

    monkeypatch.setenv("KAM_BASE_CURRENCY", "EUR")
    assert Settings.from_env().dbt_env()["KAM_BASE_CURRENCY"] == "EUR"


def test_kam_refuses_a_bad_base_currency_before_dbt(tmp_path: Path) -> None:
    env = os.environ | {"KAM_HOME": str(tmp_path), "KAM_BASE_CURRENCY": "USD'); drop table x;--"}
    proc = subprocess.run(
        [Path(sys.executable).parent / "kam", "build", "--as-of", "2026-10-31"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 1
    assert "KAM_BASE_CURRENCY=\"USD'); drop table x;--\" is not an ISO 4217" in proc.stderr
    assert not (tmp_path / "warehouse").exists()  # nothing ran


# ---------------------------------------------------------------- bidi controls


def test_bidi_controls_are_stripped() -> None:
    from kam_transforms.textsafe import strip_bidi_controls

    assert strip_bidi_controls("invoice\u202efdp.exe \u2067x\u2069 \u200f中文") == (
        "invoicefdp.exe x 中文"
    )


def test_right_to_left_override_never_reaches_an_email(tmp_path: Path, kam_home: Path) -> None:
    import email
    from email import policy

    from alert_fixtures import AS_OF, alert_frame, alert_row, alert_settings, typed

    from kam_transforms.alerts import preview_alerts
    from kam_transforms.textsafe import BIDI_CONTROLS

    spoof = "Acme\u202eTXT.EXE\u202c \u2066Corp\u2069"
    evidence = typed(
        opportunity_id=("OPP-1", "id"), competitor=("Globex\u200f Inc", "text"),
        closed_date=("2026-09-30", "date"), days_since_lost=(31, "days"),
        amount=(50000.0, "money", "USD"), amount_base=(50000.0, "money", "USD"),
        revenue_t12m=(400000.0, "money", "USD"),
    )  # the reason is rendered from the evidence: a control in a value must not pass either
    row = alert_row(
        alert_id="a1", customer_name=spoof, owner_name="Ann\u202e Lee",
        rule_id="competitor_loss", evidence=evidence,
    )
    settings = alert_settings(tmp_path)
    [msg] = preview_alerts(alert_frame(row), AS_OF, settings, tmp_path / "state.sqlite",
                           crm_base_url="")
    raw = msg.as_bytes()
    parsed = email.message_from_bytes(raw, policy=policy.default)
    seen = "".join(
        str(part.get_content()) for part in parsed.walk() if part.get_content_maintype() == "text"
    ) + str(parsed["To"]) + str(parsed["Subject"])
    assert "AcmeTXT.EXE Corp" in seen  # the name is shown, in its stored order
    assert "was lost to Globex Inc on Sep 30, 2026" in seen
    assert [c for c in seen if c in BIDI_CONTROLS] == []
