"""The project's dbt Python models, run by this process on PostgreSQL.

dbt-postgres has no Python models. On PostgreSQL each of them is a ``host_python`` node
(dbt_project/macros/host_python.sql) of the same name, and this module runs the model's own
``.py`` file, its ``model(dbt, session)`` with a small stand-in for dbt's ``dbt`` object:
``dbt.ref(name).df()`` reads the table or view from PostgreSQL into pandas (the dtypes
dbt-duckdb's ``.df()`` gives), ``dbt.config.get(key)`` reads the node's config. So the CLV fit,
the scores, the horizons and the plan forecasts are the same ``kam_transforms.clv`` code on both
targets. The frame returned is written with ``COPY`` into the node's relation.
"""

from __future__ import annotations

import io
import runpy
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from kam_transforms.pgwarehouse.target import quote_ident

__all__ = [
    "HostModel", "frame_of_rows", "host_models", "read_frame", "run_host_model", "write_frame",
]

# PostgreSQL type oids -> how the column is read into pandas.
_INTS = {20, 21, 23}
_FLOATS = {700, 701, 1700}
_DATES = {1082, 1114, 1184}
_BOOLS = {16}


class HostModel:
    """A host_python node of the manifest and the Python model file it stands for."""

    def __init__(self, node: dict[str, Any], python_file: Path, project_dir: Path) -> None:
        self.node = node
        self.name: str = node["name"]
        self.unique_id: str = node["unique_id"]
        self.schema: str = node["schema"]
        self.identifier: str = node.get("alias") or node["name"]
        self.python_file = project_dir / python_file
        self.parents: list[str] = list(node["depends_on"]["nodes"])

    def __repr__(self) -> str:
        return f"HostModel({self.name})"


def host_models(manifest: dict[str, Any], project_dir: Path) -> list[HostModel]:
    """The manifest's host_python nodes, each with the disabled Python model of its name."""
    python_files: dict[str, Path] = {}
    for unique_id, nodes in manifest.get("disabled", {}).items():
        for node in nodes:
            if node.get("language") == "python":
                python_files[unique_id] = Path(node["original_file_path"])
    found = []
    for unique_id, node in manifest["nodes"].items():
        if node.get("config", {}).get("materialized") != "host_python":
            continue
        if unique_id not in python_files:
            raise RuntimeError(
                f"host_python node {unique_id} has no disabled Python model of its name"
            )
        found.append(HostModel(node, python_files[unique_id], project_dir))
    return found


def read_frame(con: Any, schema: str, identifier: str) -> pd.DataFrame:
    """A whole relation as pandas, typed as DuckDB's ``.df()`` types it (nullable ints, UTC-naive
    datetimes in microseconds, decimals as float64, text as str)."""
    with con.cursor() as cur:
        cur.execute(f"select * from {quote_ident(schema)}.{quote_ident(identifier)}")  # noqa: S608
        rows = cur.fetchall()
        description = cur.description or []
    return frame_of_rows(rows, description)


def frame_of_rows(rows: list[Any], description: Any) -> pd.DataFrame:
    """Rows of a psycopg cursor as pandas, typed as :func:`read_frame` says."""
    data: dict[str, Any] = {}
    for i, column in enumerate(description):
        values = [row[i] for row in rows]
        oid = column.type_code
        has_null = any(v is None for v in values)
        if oid in _INTS:
            series = pd.Series(pd.array(values, dtype="Int64"))
            data[column.name] = series if has_null else series.astype("int64")
        elif oid in _FLOATS:
            floats = [float("nan") if v is None else float(v) for v in values]
            data[column.name] = pd.Series(floats, dtype="float64")
        elif oid in _DATES:
            stamps = pd.to_datetime(pd.Series(values, dtype="object"))
            data[column.name] = pd.Series(stamps).astype("datetime64[us]")
        elif oid in _BOOLS:
            data[column.name] = pd.Series(values, dtype="boolean" if has_null else "bool")
        else:
            data[column.name] = pd.Series(values, dtype="str" if values else "object")
    return pd.DataFrame(data, columns=[c.name for c in description])


def _pg_type(arrow_type: pa.DataType) -> str:
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_int64(arrow_type) or pa.types.is_uint32(arrow_type):
        return "bigint"
    if pa.types.is_integer(arrow_type):
        return "integer"
    if pa.types.is_floating(arrow_type):
        return "double precision"
    if pa.types.is_decimal(arrow_type):
        return "numeric"
    if pa.types.is_timestamp(arrow_type):
        return "timestamp"
    if pa.types.is_date(arrow_type):
        return "date"
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "text"
    if pa.types.is_null(arrow_type):
        return "text"
    raise TypeError(f"no PostgreSQL column type for Arrow {arrow_type}")


def write_frame(con: Any, schema: str, identifier: str, frame: pd.DataFrame) -> int:
    """Replace the table ``schema.identifier`` with ``frame`` (one transaction)."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.cast(
        pa.schema(
            [
                pa.field(f.name, pa.timestamp("us")) if pa.types.is_timestamp(f.type) else f
                for f in table.schema
            ]
        )
    )
    relation = f"{quote_ident(schema)}.{quote_ident(identifier)}"
    # DuckDB resolves column names case-insensitively (the CLV frame has `T`, SQL reads `t`):
    # PostgreSQL gets them folded to lower case, as its unquoted names are.
    names = [f.name.lower() for f in table.schema]
    if len(set(names)) != len(names):
        raise ValueError(
            f"{schema}.{identifier}: columns {table.schema.names} collide in lower case"
        )
    columns = ", ".join(
        f"{quote_ident(n)} {_pg_type(f.type)}" for n, f in zip(names, table.schema, strict=True)
    )
    buffer = io.BytesIO()
    options = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")
    pa_csv.write_csv(table, buffer, options)
    with con.transaction(), con.cursor() as cur:
        cur.execute(f"create schema if not exists {quote_ident(schema)}")
        cur.execute(f"drop table if exists {relation} cascade")
        cur.execute(f"create table {relation} ({columns})")
        with cur.copy(f"copy {relation} from stdin with (format csv)") as copy:
            copy.write(buffer.getvalue())
    return table.num_rows


class _Config:
    """``dbt.config``: callable (ignored here: the node's materialization is host_python)
    and ``get`` from the node's config."""

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __call__(self, **_: Any) -> None:
        return None

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)


class _Relation:
    def __init__(self, con: Any, schema: str, identifier: str) -> None:
        self._con, self._schema, self._identifier = con, schema, identifier

    def df(self) -> pd.DataFrame:
        return read_frame(self._con, self._schema, self._identifier)


class _Dbt:
    def __init__(self, con: Any, model: HostModel, manifest: dict[str, Any]) -> None:
        self._con, self._model, self._manifest = con, model, manifest
        self.config = _Config(dict(model.node.get("config", {})))

    def ref(self, name: str) -> _Relation:
        for unique_id in self._model.parents:
            node = self._manifest["nodes"].get(unique_id)
            if node and node["name"] == name:
                return _Relation(self._con, node["schema"], node.get("alias") or node["name"])
        raise RuntimeError(
            f"{self._model.python_file}: ref({name!r}) is not a parent of the host_python node "
            f"{self._model.unique_id} (add `-- depends_on: {{{{ ref('{name}') }}}}` to it)"
        )


def run_host_model(con: Any, model: HostModel, manifest: dict[str, Any]) -> int:
    """Run the model's Python file and write its frame; the number of rows written."""
    namespace = runpy.run_path(str(model.python_file))
    frame = namespace["model"](_Dbt(con, model, manifest), None)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"{model.python_file}: model() returned {type(frame).__name__}, not a DataFrame"
        )
    return write_frame(con, model.schema, model.identifier, frame)
