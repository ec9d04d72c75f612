"""The Arrow row rules give exactly what the pandas row rules gave (main 492c0ba).

``tests/data/rowrules_reference.json.gz`` holds the pandas implementation's outputs on the
fuzzed chunks of :mod:`rowrules_fuzz` (Arrow string tables, typed Arrow tables, pandas frames
for ten entities, with padded keys, empty strings, ``'NaN'``, ``'1e400'``, ``'0x10'``, odd
booleans, bad dates and currencies, tombstones): per chunk every normalised column, every
row's reasons text, the reason counts; per case the drift state or the drift error. The
Arrow implementation must reproduce them value for value. A deliberate change of a rule
re-records them from the current rules: ``python tests/test_rowrules_arrow.py --record``
(then review the diff of what changed).
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import rowrules_fuzz as fz

from kam_transforms.entities import entity
from kam_transforms.extract.canonical import chunk_texts
from kam_transforms.extract.rowrules import Drift, SchemaDriftError, apply_rules
from kam_transforms.extract.rules import rules_for

REFERENCE = Path(__file__).parent / "data" / "rowrules_reference.json.gz"
CASES = fz.cases()


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    with gzip.open(REFERENCE, "rt") as f:
        return json.load(f)


def _run(ent_name: str, chunks: list[Any], known: set[str] | None, formats: dict[str, str]):
    ent = entity(*ent_name.split("/"))
    rules = rules_for(ent)
    drift = Drift()
    res: dict[str, Any] = {"chunks": []}
    first = chunks[0]
    names0 = first.column_names if isinstance(first, pa.Table) else list(first.columns)
    order = list(dict.fromkeys([*ent.columns, *names0]))
    try:
        for chunk in chunks:
            names = chunk.column_names if isinstance(chunk, pa.Table) else list(chunk.columns)
            n = chunk.num_rows if isinstance(chunk, pa.Table) else len(chunk)
            where = f"{ent.source}/{ent.name}: column {{}} from test"
            text = chunk_texts(chunk, names, order, rules, where)
            text, reasons = apply_rules(
                text, n, ent, rules, known, formats, drift, owners=fz.OWNERS
            )
            res["chunks"].append(
                {
                    "columns": {c: text[c].to_pylist() for c in order},
                    "reasons": reasons.texts(),
                    "counts": reasons.counts,
                }
            )
        res["drift"] = [drift.present, drift.parsed, drift.kinds, drift.samples]
        drift.check(ent)
    except SchemaDriftError as e:
        res["error"] = str(e)
    return res


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_arrow_rules_match_pandas_rules(case, reference) -> None:
    name, ent_name, chunks, known, formats = case
    got = json.loads(json.dumps(_run(ent_name, chunks, known, formats), sort_keys=True))
    want = reference[name]
    assert got.get("error") == want.get("error")
    assert len(got["chunks"]) == len(want["chunks"])
    for k, (g, w) in enumerate(zip(got["chunks"], want["chunks"], strict=True)):
        assert g["counts"] == w["counts"], (name, k)
        for row, (gr, wr) in enumerate(zip(g["reasons"], w["reasons"], strict=True)):
            assert gr == wr, (name, k, row)
        for c in w["columns"]:
            assert g["columns"][c] == w["columns"][c], (name, k, c)
    assert got.get("drift") == want.get("drift")


def test_reference_covers_the_messy_cases(reference) -> None:
    """The recorded outputs exercise what they claim to: many rules fire."""
    counts: dict[str, int] = {}
    for case in reference.values():
        for chunk in case["chunks"]:
            for rule, n in chunk["counts"].items():
                counts[rule] = counts.get(rule, 0) + n
    for rule in [
        "unparseable_number", "non_finite_number", "number_too_large", "unparseable_boolean",
        "unparseable_timestamp", "unparseable_date", "unknown_currency", "invalid_email",
        "invalid_locale", "unknown_owner", "owner_mismatch", "required_value_missing",
        "period_end_before_period_start", "status_not_allowed", "discount_pct_out_of_range",
        "non_positive_rate_to_base",
    ]:  # fmt: skip
        assert counts.get(rule, 0) > 0, rule


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--record"]:
        raise SystemExit("usage: python tests/test_rowrules_arrow.py --record")
    recorded = {name: _run(ent, chunks, known, fmts) for name, ent, chunks, known, fmts in CASES}
    with gzip.open(REFERENCE, "wt") as f:
        json.dump(recorded, f, sort_keys=True)
    print(f"recorded {len(recorded)} cases to {REFERENCE}")
