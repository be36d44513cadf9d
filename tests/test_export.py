"""The auditor export: complete, masked by default, spreadsheet-safe, matched by its manifest."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.audit import begin_snapshot
from monitor.errors import Conflict, InvalidInput
from monitor.export import (
    BASE_COLUMNS,
    FULL_TEXT_COLUMNS,
    ExportFilters,
    check_export,
    escape_cell,
    export_findings,
    iter_records,
    make_filters,
    manifest_path,
    unescape_cell,
)
from monitor.review import update_status
from monitor.storage.database import Database
from monitor.storage.trail import head, record_event

SECRET_TEXT = "Jane Roe (DOB 03/14/1961) is back in bed 4"
T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
WIDE = ExportFilters(start=T0 - timedelta(days=365), end=T0 + timedelta(days=365))


def _seed(db: Database, seed_finding: Any) -> dict[str, int]:
    with db.session() as session:
        a = seed_finding(
            session, text=SECRET_TEXT, excerpt="[NAME] ([DATE]) is back in bed 4", at=T0
        )
        b = seed_finding(
            session,
            category="harmful_content",
            severity="high",
            explanation='=HYPERLINK("http://evil")',
            excerpt="-my idiot patient, again\r\n@everyone",
            at=T0 + timedelta(hours=1),
        )
        c = seed_finding(session, category="medical_advice", at=T0 - timedelta(days=30))
        update_status(session, a.id, "acknowledged", "talked to author", "alice@example.org")
        record_event(session, a.id, "post_deleted", details={"seen_missing_at": "2026-03-03"})
        update_status(session, a.id, "remediated", "+ deleted; confirmed", "bob@example.org")
        update_status(session, b.id, "dismissed", "'quoted from a film", "alice@example.org")
        return {"a": a.id, "b": b.id, "c": c.id, "staff_a": a.post.source.staff_id}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [{k: unescape_cell(v) for k, v in row.items()} for row in csv.DictReader(fh)]


def _export(
    db: Database, out: Path, filters: ExportFilters = WIDE, **kwargs: Any
) -> dict[str, Any]:
    with db.session() as session:
        return export_findings(session, out, filters, **kwargs)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("=1+2", "'=1+2"),
        ("+1 555 0100", "'+1 555 0100"),
        ("-5", "'-5"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("＝1+2", "'＝1+2"),
        ("'already quoted", "''already quoted"),
        ("plain = text", "plain = text"),
        ("", ""),
    ],
)
def test_when_a_cell_could_run_as_a_formula_then_it_is_escaped_and_restorable(
    raw: str, escaped: str
) -> None:
    assert escape_cell(raw) == escaped
    assert unescape_cell(escape_cell(raw)) == raw


def test_when_exporting_csv_then_every_value_round_trips_and_history_is_complete(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    ids = _seed(db, seed_finding)
    out = tmp_path / "export.csv"
    manifest = _export(db, out)
    rows = _read_csv(out)
    assert [int(r["finding_id"]) for r in rows] == [ids["a"], ids["b"], ids["c"]]  # by id
    assert list(rows[0]) == list(BASE_COLUMNS)
    b = rows[1]
    assert b["explanation"] == '=HYPERLINK("http://evil")'
    assert b["excerpt"] == "-my idiot patient, again\r\n@everyone"
    assert b["status"] == "dismissed" and b["last_disposition_by"] == "alice@example.org"
    a = rows[0]
    assert a["created_at"] == "2026-03-02T09:30:00Z"
    assert a["staff_id"] == str(ids["staff_a"])
    history = json.loads(a["history"])
    assert [h["kind"] for h in history] == [
        "created",
        "status_changed",
        "post_deleted",
        "status_changed",
    ]
    assert history[-1]["note"] == "+ deleted; confirmed"
    assert history[2]["details"] == {"seen_missing_at": "2026-03-03"}
    assert (a["last_disposition"], a["last_disposition_by"]) == ("remediated", "bob@example.org")
    assert manifest["rows"] == 3


def test_when_exporting_csv_then_dangerous_cells_are_inert_in_the_raw_file(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    _seed(db, seed_finding)
    out = tmp_path / "export.csv"
    _export(db, out)
    with out.open(encoding="utf-8", newline="") as fh:
        cells = [cell for row in csv.reader(fh) for cell in row]
    assert cells, "the export is empty"
    for cell in cells:
        assert not cell or cell[0] not in "=+-@\t\r", cell
    assert '\'=HYPERLINK("http://evil")' in cells


def test_when_not_asked_for_full_text_then_the_post_text_never_appears(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    _seed(db, seed_finding)
    for fmt in ("csv", "jsonl"):
        out = tmp_path / f"masked.{fmt}"
        _export(db, out, fmt=fmt)
        content = out.read_text(encoding="utf-8")
        assert "Jane Roe" not in content and "03/14/1961" not in content
        assert "[NAME] ([DATE]) is back in bed 4" in content
        assert "post_text" not in content


def test_when_asked_for_full_text_then_the_flagged_text_author_and_url_are_included(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    ids = _seed(db, seed_finding)
    out = tmp_path / "full.jsonl"
    manifest = _export(db, out, fmt="jsonl", full_text=True)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    a = next(r for r in records if r["finding_id"] == ids["a"])
    assert a["post_text"] == SECRET_TEXT
    assert a["author_name"] == "Dr. Ada Example"
    assert a["post_url"].startswith("https://x.example/")
    assert manifest["full_text"] is True
    assert manifest["columns"][-3:] == list(FULL_TEXT_COLUMNS)


def test_when_exported_then_the_manifest_hash_matches_and_names_the_chain_head(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    _seed(db, seed_finding)
    out = tmp_path / "export.csv"
    manifest = _export(db, out, bom=True)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    on_disk = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    assert on_disk == manifest
    assert manifest["sha256"] == hashlib.sha256(data).hexdigest()
    assert manifest["bytes"] == len(data)
    with db.session() as session:
        assert (manifest["chain"]["head_seq"], manifest["chain"]["head_hash"]) == head(session)
    assert check_export(out) == []
    out.write_bytes(data.replace(b"remediated", b"acknowledge"))
    assert check_export(out) != []


def test_when_filtered_then_only_matching_findings_are_exported(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    ids = _seed(db, seed_finding)
    cases = [
        (make_filters("2026-03-02", "2026-03-02", "UTC"), [ids["a"], ids["b"]]),
        (make_filters("2026-03-01", "2026-03-01", "UTC"), []),
        (make_filters("2026-01-01", "2026-03-02", "UTC", status="dismissed"), [ids["b"]]),
        (make_filters("2026-01-01", "2026-03-02", "UTC", category="medical_advice"), [ids["c"]]),
        (make_filters("2026-01-01", "2026-03-02", "UTC", staff_id=ids["staff_a"]), [ids["a"]]),
        # Honolulu is UTC-10: 09:30 UTC on 2 March is still 1 March there, 10:30 UTC is not
        (make_filters("2026-03-01", "2026-03-01", "Pacific/Honolulu"), [ids["a"]]),
    ]
    for n, (filters, expected) in enumerate(cases):
        out = tmp_path / f"f{n}.jsonl"
        manifest = _export(db, out, filters, fmt="jsonl")
        got = [json.loads(line)["finding_id"] for line in out.read_text().splitlines()]
        assert got == expected, filters
        assert manifest["rows"] == len(expected)
        assert manifest["filters"] == filters.as_dict()


@pytest.mark.parametrize(
    ("start", "end", "kwargs", "match"),
    [
        ("2026-03-05", "2026-03-01", {}, "before"),
        ("yesterday", "2026-03-01", {}, "not a date"),
        ("2026-03-01", "2026-03-02", {"status": "closed"}, "unknown status"),
        ("2026-03-01", "2026-03-02", {"category": "rudeness"}, "unknown category"),
    ],
)
def test_when_filters_are_wrong_then_they_are_refused_with_the_reason(
    start: str, end: str, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(InvalidInput, match=match):
        make_filters(start, end, "UTC", **kwargs)


def test_when_the_output_exists_then_export_refuses_unless_told_to_overwrite(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    _seed(db, seed_finding)
    out = tmp_path / "export.csv"
    out.write_text("keep me")
    with pytest.raises(Conflict):
        _export(db, out)
    assert out.read_text() == "keep me"
    assert _export(db, out, overwrite=True)["rows"] == 3
    assert not list(tmp_path.glob(".*partial"))


def test_when_there_are_more_findings_than_one_batch_then_each_keeps_its_own_history(
    db: Database, seed_finding: Any, tmp_path: Path
) -> None:
    with db.session() as session:
        first = seed_finding(session, at=T0)
        ids = [first.id]
        for n in range(1, 1205):
            finding = seed_finding(session, post_id=first.post_id, at=T0, span_key=f"k{n}")
            ids.append(finding.id)
        for finding_id in ids[::300]:
            update_status(session, finding_id, "escalated", f"n{finding_id}", "alice")
    out = tmp_path / "many.jsonl"
    manifest = _export(db, out, fmt="jsonl")
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert manifest["rows"] == len(records) == len(ids)
    for record in records:
        kinds = [h["kind"] for h in record["history"]]
        if record["finding_id"] in ids[::300]:
            assert kinds == ["created", "status_changed"]
            assert record["history"][1]["note"] == f"n{record['finding_id']}"
        else:
            assert kinds == ["created"]


def test_when_the_trail_grows_during_an_export_then_the_export_keeps_its_snapshot(
    db: Database, seed_finding: Any
) -> None:
    with db.session() as session:
        first = seed_finding(session, at=T0).id
    with db.session() as reader:
        begin_snapshot(reader)
        seen_head = head(reader)
        with db.session() as writer:
            seed_finding(writer, at=T0)
            update_status(writer, first, "escalated", "meanwhile", "bob")
        records = list(iter_records(reader, WIDE))
        assert head(reader) == seen_head
    assert [r["finding_id"] for r in records] == [first]
    assert [h["kind"] for h in records[0]["history"]] == ["created"]
    assert records[0]["status"] == "open"
