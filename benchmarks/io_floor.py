"""The I/O floor of landing: a plain DuckDB copy of every export file to Parquet.

``python benchmarks/io_floor.py EXPORTS_DIR OUT_DIR`` reads each ``<source>/<entity>.csv``
of a file drop as text (``all_varchar``, as landing keeps the canonical columns as text)
and writes ``OUT_DIR/<source>/<entity>.parquet``: no checks, no quarantine, no metadata.
Prints the rows copied per file as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb


def copy_exports(exports: Path, out: Path) -> dict[str, int]:
    rows: dict[str, int] = {}
    con = duckdb.connect()
    try:
        for csv in sorted(exports.glob("*/*.csv")):
            target = out / csv.parent.name / f"{csv.stem}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            con.read_csv(str(csv), header=True, all_varchar=True).write_parquet(str(target))
            (count,) = con.execute(
                "select count(*) from read_parquet(?)", [str(target)]
            ).fetchall()[0]
            rows[f"{csv.parent.name}/{csv.stem}"] = int(count)
    finally:
        con.close()
    return rows


if __name__ == "__main__":
    print(json.dumps(copy_exports(Path(sys.argv[1]), Path(sys.argv[2]))))
