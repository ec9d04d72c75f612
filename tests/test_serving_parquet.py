"""``KAM_SERVING_PARQUET=1``: publish also writes every mart as Parquet under
``parquet/<mart>/``, switched in with the serving file; a failed publish leaves the previous
Parquet set as it was."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import duckdb
import pytest
from dbt_build import AS_OF, CUSTOMERS, Build
from test_warehouse import MARTS, make_build

from kam_transforms import serving_parquet
from kam_transforms.warehouse import PublishError, mart_relations, publish, rollback

PARQUET_TYPES = {"TIMESTAMP_S": "TIMESTAMP"}


def _rows(parquet_dir: Path, table: str) -> list[tuple]:
    with duckdb.connect() as con:
        return con.execute(
            "select * from read_parquet(?) order by all", [str(parquet_dir / table / "*.parquet")]
        ).fetchall()


def _versions(parquet_dir: Path) -> list[str]:
    return sorted(p.name for p in parquet_dir.parent.glob(".parquet.v-*"))


def test_every_mart_as_parquet_equals_the_serving_table_row_for_row(
    build: Build, tmp_path: Path
) -> None:
    serving, parquet = tmp_path / "serving.duckdb", tmp_path / "parquet"
    marts = mart_relations(build.root / "target" / "manifest.json")
    counts = publish(build.db_path, serving, marts, AS_OF, "run-1", build_id="b1",
                     parquet_dir=parquet)
    assert parquet.is_symlink() and os.readlink(parquet).startswith(".parquet.v-b1.")
    assert sorted(p.name for p in parquet.iterdir()) == sorted([*counts, "_kam_publish.json"])
    record = json.loads((parquet / "_kam_publish.json").read_text(encoding="utf-8"))
    assert record == {"as_of": "2026-10-31", "run_id": "run-1", "build_id": "b1",
                      "tables": counts}
    assert counts["customer_tiers"] == CUSTOMERS and len(counts) > 20
    with duckdb.connect(str(serving), read_only=True) as con:
        for table, count in counts.items():
            files = str(parquet / table / "*.parquet")
            served = con.execute(f'describe main."{table}"').fetchall()  # noqa: S608 - manifest names
            written = con.execute("describe select * from read_parquet(?)", [files]).fetchall()
            # names and types; Parquet has no second-precision timestamp (values are equal)
            assert [c[:2] for c in written] == [
                (c[0], PARQUET_TYPES.get(c[1], c[1])) for c in served], table
            for left, right in ((f'main."{table}"', "read_parquet($f)"),
                                ("read_parquet($f)", f'main."{table}"')):
                missing = con.execute(
                    f"select count(*) from (select * from {left} except all "  # noqa: S608
                    f"select * from {right})", {"f": files}).fetchone()
                assert missing == (0,), (table, left)
            assert con.execute("select count(*) from read_parquet(?)", [files]).fetchone() == (
                count,), table


def test_a_failed_publish_leaves_the_previous_parquet_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build, serving = tmp_path / "b.duckdb", tmp_path / "serving.duckdb"
    parquet = tmp_path / "parquet"
    make_build(build, 5)
    publish(build, serving, MARTS, date(2026, 10, 31), "run-1", parquet_dir=parquet)
    first = os.readlink(parquet)
    assert len(_rows(parquet, "customer_tiers")) == 5

    make_build(build, 7)
    quote, calls = serving_parquet.quote_ident, []

    def fail_on_second_table(name: str) -> str:
        calls.append(name)
        if len(calls) == 2:
            raise OSError("No space left on device")
        return quote(name)

    monkeypatch.setattr(serving_parquet, "quote_ident", fail_on_second_table)
    with pytest.raises(PublishError, match="cannot write the Parquet copy: No space left"):
        publish(build, serving, MARTS, date(2026, 11, 30), "run-2", parquet_dir=parquet)
    monkeypatch.setattr(serving_parquet, "quote_ident", quote)
    assert os.readlink(parquet) == first and _versions(parquet) == [first]  # nothing left
    assert len(_rows(parquet, "customer_tiers")) == 5
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select run_id from _kam_publish_log").fetchone() == ("run-1",)

    # written and checked, then refused at the rename (a client holds serving read-write)
    def refuse(serving_db: Path, step: str) -> None:
        raise PublishError(f"{step} refused: {serving_db} is open read-write")

    monkeypatch.setattr("kam_transforms.warehouse._refuse_a_writer", refuse)
    with pytest.raises(PublishError, match="open read-write"):
        publish(build, serving, MARTS, date(2026, 11, 30), "run-2", parquet_dir=parquet)
    monkeypatch.undo()
    assert os.readlink(parquet) == first and _versions(parquet) == [first]
    assert len(_rows(parquet, "customer_tiers")) == 5

    publish(build, serving, MARTS, date(2026, 11, 30), "run-2", parquet_dir=parquet)
    second = os.readlink(parquet)
    assert len(_rows(parquet, "customer_tiers")) == 7
    assert os.readlink(serving_parquet.previous_link(parquet)) == first  # kept for readers
    make_build(build, 9)
    publish(build, serving, MARTS, date(2026, 12, 31), "run-3", parquet_dir=parquet)
    assert _versions(parquet) == sorted([second, os.readlink(parquet)])  # the first is gone
    rollback(serving, parquet)
    assert os.readlink(parquet) == second and len(_rows(parquet, "customer_tiers")) == 7
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("select run_id from _kam_publish_log").fetchone() == ("run-2",)


def test_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kam_transforms.config import Settings

    monkeypatch.setenv("KAM_HOME", str(tmp_path))
    for var in ("KAM_SERVING_DB", "KAM_SERVING_PARQUET_DIR", "KAM_SERVING_PARQUET"):
        monkeypatch.delenv(var, raising=False)
    assert Settings.from_env().serving_parquet is False
    monkeypatch.setenv("KAM_SERVING_PARQUET", "1")
    settings = Settings.from_env()
    assert settings.serving_parquet is True
    assert settings.serving_parquet_dir == tmp_path / "warehouse" / "parquet"
    monkeypatch.setenv("KAM_SERVING_PARQUET", "maybe")
    with pytest.raises(ValueError, match="KAM_SERVING_PARQUET='maybe'"):
        Settings.from_env()
    (tmp_path / "parquet").mkdir()  # a directory where the link belongs is not replaced
    with pytest.raises(serving_parquet.ParquetPublishError, match="is a directory"):
        serving_parquet.stage(tmp_path / "s.duckdb", tmp_path / "parquet", {}, as_of=AS_OF,
                              run_id="r", build_id=None)
