"""File-drop discovery and per-file reading (issue 10, points 9-12, 15, 16): links leaving the
export folder, large RFC 4180 files, folder contents, Excel formulas, wrong encodings and the
``_export.json`` schema. Each test writes the real file that broke the pipeline first."""

from __future__ import annotations

import json
import logging
import os
import re
import zipfile
from datetime import date
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from test_extract_landing import write

from kam_transforms.entities import entity
from kam_transforms.extract.export_config import ExportConfigError, load_export_config
from kam_transforms.extract.filedrop import FileDropConnector
from kam_transforms.extract.files import ExtractError
from kam_transforms.extract.landing import SchemaDriftError
from kam_transforms.extract.run import run_extract

AS_OF = date(2026, 10, 31)
ACCOUNTS = entity("crm", "accounts")
OPPORTUNITIES = entity("crm", "opportunities")
CUSTOMERS = entity("erp", "customers")
ORDERS = entity("erp", "orders")
ORDER_LINES = entity("erp", "order_lines")
FX = entity("erp", "fx_rates")
OUTSIDE_LINE = "root:x:0:0:TOPSECRET-LINE:/root:/bin/bash"


def fx_landed(exports: Path, lake: Path) -> None:
    """USD and EUR rates in the drop and landed (a batch's currencies must be landed)."""
    write(
        exports / "erp" / "fx_rates.csv",
        "currency,rate_date,rate_to_base\nUSD,2026-10-31,1.0\nEUR,2026-10-31,1.08\n",
    )
    assert run_extract(FileDropConnector(exports), FX, lake, AS_OF)["rows_landed"] == 2


def account_line(i: int, name: str | None = None) -> str:
    name = name or f"Account {i}"
    return f"A{i},{name},Retail,EMEA,DE,{i},,,,2024-01-01T00:00:00Z,2026-10-01T00:00:00Z,false"


def accounts_csv(path: Path, ids: range) -> Path:
    lines = [",".join(ACCOUNTS.columns), *(account_line(i) for i in ids)]
    return write(path, "\n".join(lines) + "\n")


def raw_rows(lake: Path, ent: object) -> list[dict[str, object]]:
    folder = lake / "raw" / ent.source / ent.name / f"as_of={AS_OF}"  # type: ignore[attr-defined]
    files = sorted(folder.glob("*.parquet"))
    assert len(files) == 1, files
    return pq.read_table(files[0]).to_pylist()


def extract(exports: Path, lake: Path, ent: object) -> dict[str, object]:
    return run_extract(FileDropConnector(exports), ent, lake, AS_OF)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- 9: symlinks


def test_a_file_link_leaving_the_export_folder_is_refused_naming_the_link(tmp_path: Path) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    outside = write(tmp_path / "outside" / "passwd", OUTSIDE_LINE + "\n")
    accounts_csv(exports / "crm" / "accounts" / "part1.csv", range(1, 4))
    leak = exports / "crm" / "accounts" / "leak.csv"
    leak.symlink_to(outside)

    with pytest.raises(ExtractError) as err:
        extract(exports, lake, ACCOUNTS)
    message = str(err.value)
    assert f"{leak}: a symbolic link that resolves outside the export folder" in message
    assert "TOPSECRET" not in message and "root:x" not in message
    assert not (lake / "raw").exists()

    # The declaration is a file of the drop too.
    leak.unlink()
    (exports / "crm" / "_export.json").symlink_to(outside)
    with pytest.raises(ExtractError, match=r"crm/_export.json: a symbolic link that resolves out"):
        extract(exports, lake, ACCOUNTS)


def test_a_folder_link_leaving_the_export_folder_is_refused(tmp_path: Path) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    accounts_csv(tmp_path / "elsewhere" / "part1.csv", range(1, 3))
    (exports / "crm").mkdir(parents=True)
    (exports / "crm" / "accounts").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
    with pytest.raises(ExtractError, match=r"crm/accounts: a symbolic link that resolves outside"):
        extract(exports, lake, ACCOUNTS)

    # A link that stays inside the export folder is read like the file it points to.
    (exports / "crm" / "accounts").unlink()
    accounts_csv(exports / "archive" / "accounts-2026-10-31.csv", range(1, 3))
    (exports / "crm" / "accounts.csv").symlink_to(exports / "archive" / "accounts-2026-10-31.csv")
    assert extract(exports, lake, ACCOUNTS)["rows_landed"] == 2


def test_a_malformed_row_is_named_by_row_and_line_not_by_its_content(tmp_path: Path) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    path = accounts_csv(exports / "crm" / "accounts.csv", range(1, 4))
    with path.open("a") as fh:
        fh.write(OUTSIDE_LINE + "\n" + account_line(9) + "\n")
    with pytest.raises(pa.ArrowInvalid, match="TOPSECRET"):  # what used to reach the error
        pacsv.read_csv(path)
    with pytest.raises(ExtractError) as err:
        extract(exports, lake, ACCOUNTS)
    assert str(err.value) == f"{path}: row 4 (line 5) has 1 field(s), the header has 12"


# --------------------------------------------------------------------------- 10: large RFC 4180


def test_a_large_csv_with_quoted_line_breaks_and_a_3_mb_cell_reads_every_row(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    path = exports / "crm" / "accounts.csv"
    path.parent.mkdir(parents=True)
    big = "line one\n" + "x" * 3_000_000 + '\n"quoted", and a comma\nend'
    n = 12_000
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(ACCOUNTS.columns) + ",notes\n")
        for i in range(1, n + 1):
            note = big if i == 7_000 else f"first line {i}\r\nsecond, line\n" + "y" * 150
            fh.write(account_line(i, f'"Name {i}\nwith ""quotes"""') + ',"')
            fh.write(note.replace('"', '""') + '"\n')
    assert path.stat().st_size > 5 * 2**20
    with pytest.raises(pa.ArrowInvalid, match="straddl"):  # the reader the pipeline used
        pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))

    result = extract(exports, lake, ACCOUNTS)
    assert (result["rows_in"], result["rows_landed"], result["rows_quarantined"]) == (n, n, 0)
    rows = {r["account_id"]: r for r in raw_rows(lake, ACCOUNTS)}
    assert len(rows) == n
    assert rows["A7000"]["notes"] == big
    assert rows["A1"]["notes"] == "first line 1\r\nsecond, line\n" + "y" * 150
    assert rows[f"A{n}"]["account_name"] == f'Name {n}\nwith "quotes"'


def test_an_unterminated_quote_fails_naming_the_row_instead_of_swallowing_the_rest(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    lines = [",".join(ACCOUNTS.columns), account_line(1), account_line(2)]
    lines += [account_line(3).removesuffix("false") + '"false']  # a quote opened, never closed
    lines += [account_line(i) for i in range(4, 8)]
    path = write(exports / "crm" / "accounts.csv", "\n".join(lines) + "\n")
    swallowed = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(newlines_in_values=True))
    assert swallowed.num_rows == 3  # pyarrow alone reads rows 3-7 as one cell

    with pytest.raises(ExtractError) as err:
        extract(exports, lake, ACCOUNTS)
    assert str(err.value).startswith(f"{path}: row 3 (line 4) opens a quoted field that is never")
    assert not (lake / "raw").exists()


# --------------------------------------------------------------------------- 11: folder reading


def test_a_sub_folder_of_an_entity_folder_fails_the_entity(tmp_path: Path) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    accounts_csv(exports / "crm" / "accounts" / "part1.csv", range(1, 4))
    accounts_csv(exports / "crm" / "accounts" / "2026-10" / "part2.csv", range(4, 9))
    with pytest.raises(ExtractError, match=r"accounts/2026-10: a sub-folder in the export folder"):
        extract(exports, lake, ACCOUNTS)
    assert not (lake / "raw").exists()

    # A '_'-prefixed folder is skipped on purpose, and listed as such.
    (exports / "crm" / "accounts" / "2026-10").rename(exports / "crm" / "accounts" / "_old")
    result = extract(exports, lake, ACCOUNTS)
    assert result["rows_in"] == 3
    assert result["stats"]["ignored"] == [str(exports / "crm" / "accounts" / "_old")]


def test_unknown_files_are_not_read_and_are_listed_as_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    folder = exports / "crm" / "accounts"
    accounts_csv(folder / "part1.csv", range(1, 4))
    write(folder / "README.txt", "account_id,account_name\nnot,data\n")
    write(folder / "notes.md", "# export of 31 October\n")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1\x00")
    with caplog.at_level(logging.WARNING):
        result = extract(exports, lake, ACCOUNTS)
    assert (result["rows_in"], result["rows_landed"]) == (3, 3)
    assert [r["account_id"] for r in raw_rows(lake, ACCOUNTS)] == ["A1", "A2", "A3"]
    assert result["stats"]["files"] == [str(folder / "part1.csv")]
    assert result["stats"]["ignored"] == [
        str(folder / n) for n in (".DS_Store", "README.txt", "notes.md")
    ]
    assert f"{folder / 'README.txt'}: ignored (not an export file of crm/accounts)" in caplog.text


def test_a_parquet_file_lacking_a_canonical_column_fails_naming_file_and_column(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    fx_landed(exports, lake)
    folder = exports / "erp" / "orders"
    write(
        folder / "part1.csv",
        ",".join(ORDERS.columns) + "\nO1,C1,2026-10-01,USD,open,2026-10-01T00:00:00Z\n",
    )
    frame = pd.DataFrame(
        {
            "order_id": [f"O{i}" for i in range(2, 6)],
            "customer_id": "C1",
            "order_date": "2026-10-02",
            "currency": "EUR",
            "updated_at": "2026-10-02T00:00:00Z",
        }
    )
    frame.to_parquet(folder / "part2.parquet")
    with pytest.raises(SchemaDriftError) as err:
        extract(exports, lake, ORDERS)
    assert str(err.value).startswith(
        f"erp/orders: {folder / 'part2.parquet'} lacks canonical column(s) status;"
    )
    assert not (lake / "raw" / "erp" / "orders").exists()

    frame.assign(status="open").to_parquet(folder / "part2.parquet")
    assert extract(exports, lake, ORDERS)["rows_landed"] == 5


def test_an_entity_folder_beside_a_single_file_is_refused(tmp_path: Path) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    accounts_csv(exports / "crm" / "accounts" / "part1.csv", range(1, 3))
    accounts_csv(exports / "crm" / "accounts.csv", range(1, 9))
    with pytest.raises(ExtractError, match="both the folder .* and accounts.csv exist"):
        extract(exports, lake, ACCOUNTS)


# --------------------------------------------------------------------------- 12: Excel formulas


def _order_lines_workbook(path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Lines"
    sheet.append(list(ORDER_LINES.columns))
    sheet.append(["L1", "O1", "P1", 2, 100.0, 0.1, 60.0])
    sheet.append(["L2", "O1", "P2", 1, 50.0, "=F2*2", 30.0])  # written by a non-calculating tool
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)


def test_an_excel_formula_without_a_cached_value_is_refused_naming_sheet_and_cell(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    path = exports / "erp" / "order_lines.xlsx"
    _order_lines_workbook(path)
    assert pd.isna(pd.read_excel(path).loc[1, "discount_pct"])  # what used to land: no discount

    with pytest.raises(ExtractError) as err:
        extract(exports, lake, ORDER_LINES)
    assert str(err.value).startswith(
        f"{path}: sheet 'Lines' cell F3 holds a formula without a calculated value"
    )
    assert not (lake / "raw").exists()

    # The same workbook once calculated (Excel stores the value beside the formula) lands it.
    with zipfile.ZipFile(path) as src:
        parts = {name: src.read(name) for name in src.namelist()}
    sheet_xml = parts["xl/worksheets/sheet1.xml"].decode()
    sheet_xml, count = re.subn(r"<f>F2\*2</f><v\s*/?>(</v>)?", "<f>F2*2</f><v>0.2</v>", sheet_xml)
    assert count == 1
    parts["xl/worksheets/sheet1.xml"] = sheet_xml.encode()
    with zipfile.ZipFile(path, "w") as dst:
        for name, data in parts.items():
            dst.writestr(name, data)
    result = extract(exports, lake, ORDER_LINES)
    assert result["rows_landed"] == 2
    assert [r["discount_pct"] for r in raw_rows(lake, ORDER_LINES)] == ["0.1", "0.2"]


# --------------------------------------------------------------------------- 15: encodings


def test_utf8_bytes_declared_latin1_land_with_a_warning_naming_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    fx_landed(exports, lake)
    names = ["Müller GmbH", "Société Générale", "Plain Ltd"]
    header = ",".join(CUSTOMERS.columns)
    rows = [
        f"C{i},{n},T{i},EUR,30,1000,2024-01-01T00:00:00Z,2026-10-01T00:00:00Z"
        for i, n in enumerate(names, 1)
    ]
    path = write(exports / "erp" / "customers.csv", "\n".join([header, *rows]) + "\n", "utf-8")
    write(exports / "erp" / "_export.json", '{"entities": {"customers": {"encoding": "latin-1"}}}')
    with caplog.at_level(logging.WARNING):
        result = extract(exports, lake, CUSTOMERS)
    landed = [r["customer_name"] for r in raw_rows(lake, CUSTOMERS)]
    assert landed[0] == "MÃ¼ller GmbH"  # as declared: the garbling the warning is about
    [warning] = result["stats"]["warnings"]
    assert warning.startswith(
        f"{path}: declared latin-1 but its bytes are valid UTF-8 with non-ASCII text (from line 2)"
    )
    assert warning in caplog.text

    # A real latin-1 export declared latin-1 lands right, without a warning.
    write(exports / "erp" / "customers.csv", "\n".join([header, *rows]) + "\n", "latin-1")
    result = extract(exports, lake, CUSTOMERS)
    assert result["stats"]["warnings"] == []
    assert [r["customer_name"] for r in raw_rows(lake, CUSTOMERS)] == names


# --------------------------------------------------------------------------- 16: _export.json


def test_invalid_export_json_names_the_file_and_line_and_fails_its_source_only(
    tmp_path: Path,
) -> None:
    exports, lake = tmp_path / "exports", tmp_path / "lake"
    fx_landed(exports, lake)
    accounts_csv(exports / "crm" / "accounts.csv", range(1, 3))
    write(
        exports / "crm" / "opportunities.csv",
        ",".join(OPPORTUNITIES.columns)
        + "\nP1,A1,won,100,EUR,1,2026-10-01,2026-10-01T00:00:00Z,true,,,2026-10-01T00:00:00Z\n",
    )
    config = write(
        exports / "erp" / "_export.json",
        '{"entities": {\n  "customers": {"encoding": "gb18030",},\n  "orders": {}\n}}\n',
    )
    with pytest.raises(ExportConfigError) as err:
        extract(exports, lake, FX)
    assert str(err.value).startswith(f"{config}: invalid JSON at line 2, column 39")

    # CRM entities still land, including one whose currencies are checked against ERP's rates.
    assert extract(exports, lake, ACCOUNTS)["rows_landed"] == 2
    result = extract(exports, lake, OPPORTUNITIES)
    assert (result["rows_landed"], result["stats"]["warnings"]) == (1, [])


def test_export_config_schema_errors_name_the_file_and_every_key(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    config = write(
        exports / "erp" / "_export.json",
        json.dumps(
            {
                "defaults": {"delimeter": ";"},
                "entities": {
                    "custmers": {"encoding": "gb18030"},
                    "accounts": {},
                    "orders": {"encoding": "latin-9x", "columns": ["order_no"]},
                    "products": {"encoding": 5, "sheet": True, "delimiter": ";;"},
                    "invoices": {"formats": {"invoice_dte": "%d.%m.%Y"}},
                    "payments": "gb18030",
                },
            }
        ),
    )
    with pytest.raises(ExportConfigError) as err:
        load_export_config(exports, "erp")
    problems = str(err.value).split("; " + str(config) + ": ")
    problems[0] = problems[0].removeprefix(f"{config}: ")
    assert problems.pop(0).startswith(
        "defaults.delimeter: unknown setting (did you mean 'delimiter'?); known: encoding, "
        "delimiter, date_format, timestamp_format, columns, formats, sheet"
    )
    assert problems == [
        "entities.custmers: no such erp entity (did you mean 'customers'?); known: customers, "
        "products, orders, order_lines, invoices, payments, fx_rates",
        "entities.accounts: no such erp entity (crm/accounts belongs in its own source's file); "
        "known: customers, products, orders, order_lines, invoices, payments, fx_rates",
        "entities.orders.encoding: unknown encoding 'latin-9x' (a Python codec name such as "
        "utf-8, latin-1, gb18030)",
        "entities.orders.columns: must be an object mapping export headers to canonical names, "
        "got a list",
        "entities.products.encoding: must be a codec name such as utf-8, latin-1, gb18030, got "
        "a number",
        "entities.products.sheet: must be a sheet name or a 0-based sheet index, got a boolean",
        "entities.products.delimiter: must be one character, got ';;'",
        "entities.invoices.formats.invoice_dte: not a date or timestamp column (did you mean "
        "'invoice_date'?)",
        "entities.payments: must be an object of settings, got a string",
    ]


def test_invalid_export_yaml_names_the_line_and_two_declarations_are_refused(
    tmp_path: Path,
) -> None:
    exports = tmp_path / "exports"
    config = write(
        exports / "crm" / "_export.yaml",
        "entities:\n  accounts:\n    encoding: utf-8\n   delimiter: ';'\n",
    )
    with pytest.raises(
        ExportConfigError, match=rf"^{re.escape(str(config))}: invalid YAML at line 4"
    ):
        load_export_config(exports, "crm")
    write(config, "entities:\n  accounts:\n    delimiter: ';'\n")
    assert load_export_config(exports, "crm")["accounts"].delimiter == ";"
    write(exports / "crm" / "_export.json", "{}")
    with pytest.raises(ExportConfigError, match="both _export.json and _export.yaml"):
        load_export_config(exports, "crm")
    assert os.path.exists(config)
