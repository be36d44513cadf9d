"""``scan-file``: the JSONL dry run, one output line per input line, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.cli.scan import parse_record
from monitor.domain import Channel

pytestmark = pytest.mark.slow  # the real policy with the spaCy model

POSTS = [
    {"id": "a1", "text": "Patient called from 312-555-0147 about her biopsy results"},
    {"id": 2, "text": "Long shift, exhausted. Coffee please."},
    {
        "id": "a3",
        "platform": "x",
        "channel": "public",
        "author": {"name": "Jane Smith", "role": "nurse", "bio": ""},
        "text": "Priya Natarajan came in today for her biopsy results",
    },
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _config(tmp_path: Path, policy: str = "") -> Path:
    db = tmp_path / "never.db"
    return _write(
        tmp_path / "config.toml", [f'[database]\nurl = "sqlite:///{db}"', "[policy]", policy]
    )


def _run(args: list[str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.stdout, result.stderr


def test_when_file_is_scanned_then_each_line_gets_one_result_in_order(tmp_path: Path) -> None:
    infile = _write(tmp_path / "in.jsonl", [json.dumps(p) for p in POSTS])
    out = tmp_path / "out.jsonl"
    config = _config(tmp_path)
    code, _, err = _run(["--config", str(config), "scan-file", str(infile), "--out", str(out)])
    assert code == 0, err
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["a1", 2, "a3"]
    assert rows[1]["findings"] == []
    privacy = [f for f in rows[0]["findings"] if f["category"] == "patient_privacy"]
    assert privacy, rows[0]
    finding = privacy[0]
    assert set(finding) == {"category", "severity", "rule", "spans", "explanation", "excerpt"}
    assert "312-555-0147" not in finding["excerpt"] and "<PHONE_NUMBER>" in finding["excerpt"]
    assert all(len(span) == 2 for span in finding["spans"])
    assert not (tmp_path / "never.db").exists()


def test_when_policy_allowlists_the_identifiers_then_no_privacy_finding(tmp_path: Path) -> None:
    infile = _write(tmp_path / "in.jsonl", [json.dumps(POSTS[0]), json.dumps(POSTS[2])])
    config = _config(
        tmp_path, 'allow_phones = ["(312) 555-0147"]\nallow_names = ["Priya Natarajan"]'
    )
    code, out, err = _run(["--config", str(config), "scan-file", str(infile)])
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [f for r in rows for f in r["findings"] if f["category"] == "patient_privacy"] == []


def test_when_lines_are_bad_then_each_is_named_on_stderr_and_the_rest_are_scanned(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps(POSTS[1]),
        "not json",
        json.dumps({"id": 7, "text": 5}),
        "",
        json.dumps({"id": "x9", "channel": "dm", "text": "hi"}),
        json.dumps(POSTS[0]),
    ]
    infile = _write(tmp_path / "in.jsonl", lines)
    code, out, err = _run(["--config", str(_config(tmp_path)), "scan-file", str(infile)])
    assert code == 1
    assert f"{infile}:2: not valid JSON" in err
    assert f"{infile}:3: missing 'text'" in err
    assert f"{infile}:5: unknown channel 'dm'" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [2, None, 7, "x9", "a1"]
    assert ["findings" in r for r in rows] == [True, False, False, False, True]
    assert rows[1]["line"] == 2 and rows[1]["error"].startswith("not valid JSON")
    assert rows[4]["findings"]


def test_when_one_line_is_not_utf8_then_only_that_line_is_bad_and_a_bom_is_ignored(
    tmp_path: Path,
) -> None:
    infile = tmp_path / "in.jsonl"
    infile.write_bytes(
        b"\xef\xbb\xbf"  # a BOM, as spreadsheet tools write it
        + json.dumps(POSTS[1]).encode()
        + b"\r\n"
        + b'{"id": "latin1", "text": "caf\xe9"}\n'
        + json.dumps(POSTS[0]).encode()
        + b"\r\n"
    )
    code, out, err = _run(["--config", str(_config(tmp_path)), "scan-file", str(infile)])
    assert code == 1
    assert f"{infile}:2: not UTF-8 text (byte 30)" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [2, None, "a1"]
    assert rows[1] == {"id": None, "line": 2, "error": "not UTF-8 text (byte 30)"}
    assert rows[0]["findings"] == [] and rows[2]["findings"]


def test_when_input_file_is_missing_then_one_clear_error(tmp_path: Path) -> None:
    code, _, err = _run(
        ["--config", str(_config(tmp_path)), "scan-file", str(tmp_path / "nope.jsonl")]
    )
    assert code == 1
    assert err.strip().startswith("error: cannot read") and "Traceback" not in err


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("[1, 2]", "not a JSON object"),
        ('{"text": "hi"}', "missing 'id'"),
        ('{"id": true, "text": "hi"}', "missing 'id'"),
        ('{"id": 1, "text": "hi", "author": "Jane"}', "'author' must be an object"),
        ('{"id": 1, "text": "hi", "author": {"name": 3}}', "'name' must be a string"),
    ],
)
def test_when_record_is_malformed_then_reason_names_the_field(raw: str, reason: str) -> None:
    _, parsed = parse_record(raw, 1)
    assert reason in getattr(parsed, "reason", "")


def test_when_record_is_complete_then_it_becomes_a_post_context() -> None:
    raw = json.dumps({**POSTS[2], "channel": "Direct"})
    original_id, post = parse_record(raw, 1)
    assert original_id == "a3"
    assert getattr(post, "channel", None) is Channel.DIRECT
    assert getattr(post, "author", None) is not None and post.author.role == "nurse"  # type: ignore[union-attr]
