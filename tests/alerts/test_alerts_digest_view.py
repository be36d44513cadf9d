"""The digest's content, decided without a database or an email: build, masking, rendering."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alert_helpers import check_html
from jinja2 import UndefinedError

from alerts.digest import (
    DigestInput,
    FindingRow,
    Renderer,
    SourceRow,
    build_trend,
    build_view,
    subject_for,
)
from alerts.masking import mask_identifiers, mask_names

END = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def row(fid: int, severity: str, staff: str, **kw: object) -> FindingRow:
    values: dict[str, object] = {
        "finding_id": fid,
        "category": "patient_privacy",
        "severity": severity,
        "rule": "privacy.name_near_condition",
        "explanation": "Names a patient next to a condition.",
        "excerpt": "<PERSON> was in for chemo",
        "status": "open",
        "created_at": END - timedelta(hours=fid),
        "staff_name": staff,
        "source_label": "x profile @someone",
        "platform": "x",
        "channel": "public",
        "url": "https://x.com/i/status/1",
        "published_at": END - timedelta(hours=fid + 1),
    }
    values.update(kw)
    return FindingRow(**values)  # type: ignore[arg-type]


def data(**kw: object) -> DigestInput:
    values: dict[str, object] = {
        "kind": "daily",
        "practice_name": "Lakeside & Sons <Clinic>",
        "timezone": "America/New_York",
        "period_key": "2026-03-10",
        "period_start": END - timedelta(days=1),
        "period_end": END,
        "new": [],
    }
    values.update(kw)
    return DigestInput(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("call (415) 555-0134 now", "call <PHONE_NUMBER> now"),
        ("call +1 415 555 0134", "call <PHONE_NUMBER>"),
        ("mail jo.b@clinic.example.org", "mail <EMAIL_ADDRESS>"),
        ("ssn 536-22-4718", "ssn <US_SSN>"),
        ("card 4111 1111 1111 1111", "card <CREDIT_CARD>"),
        ("born 03/14/1961", "born <DATE_TIME>"),
        ("MRN 00482913 and MRN00482913", "MRN <ID> and <ID>"),
        ("<PERSON> in room 12 in 2026", "<PERSON> in room 12 in 2026"),
        ("nothing here", "nothing here"),
    ],
)
def test_when_text_has_identifiers_then_masking_replaces_them(text: str, expected: str) -> None:
    assert mask_identifiers(text) == expected
    assert mask_identifiers(expected) == expected


def test_when_findings_are_grouped_then_severity_comes_first_then_staff_and_none_is_lost() -> None:
    rows = [
        row(1, "high", "Zoe"),
        row(2, "critical", "Zoe"),
        row(3, "high", "Ann"),
        row(4, "critical", "Ann"),
        row(5, "low", "Ann"),
        row(6, "critical", "Ann"),
    ]
    view = build_view(data(new=rows))
    [new, still_open] = view.sections
    assert [(g.severity, [s.staff_name for s in g.staff]) for g in new.groups] == [
        ("critical", ["Ann", "Zoe"]),
        ("high", ["Ann", "Zoe"]),
        ("low", ["Ann"]),
    ]
    # Oldest first within a staff member (fid 6 was created before fid 4).
    assert [i.finding_id for i in new.groups[0].staff[0].items] == [6, 4]
    shown = [i.finding_id for g in new.groups for s in g.staff for i in s.items]
    assert sorted(shown) == [1, 2, 3, 4, 5, 6]
    assert still_open.count == 0
    assert view.new_by_severity == {"critical": 3, "high": 2, "low": 1}
    assert subject_for(view).endswith("6 new (3 critical, 2 high, 1 low), 0 still open")


def test_when_full_text_is_off_then_the_view_never_holds_it() -> None:
    view = build_view(data(new=[row(1, "critical", "Ann", full_text="Margaret Okonkwo")]))
    assert view.sections[0].groups[0].staff[0].items[0].full_text is None
    view_on = build_view(
        data(new=[row(1, "critical", "Ann", full_text="Margaret")], include_full_text=True)
    )
    assert view_on.sections[0].groups[0].staff[0].items[0].full_text == "Margaret"


def test_when_the_trend_is_built_then_each_local_day_counts_its_findings() -> None:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("America/New_York")
    points = [
        # 2026-03-10 03:00 UTC is 2026-03-09 23:00 in New York.
        (datetime(2026, 3, 10, 3, tzinfo=UTC), "patient_privacy"),
        (datetime(2026, 3, 10, 5, tzinfo=UTC), "patient_privacy"),
        (datetime(2026, 3, 10, 5, tzinfo=UTC), "patient_privacy"),
        (datetime(2026, 2, 1, 5, tzinfo=UTC), "patient_privacy"),  # outside the window
    ]
    rows, peak = build_trend(points, datetime(2026, 3, 10).date(), 14, zone)
    privacy = rows[0]
    assert privacy.category == "patient_privacy"
    assert [d.count for d in privacy.days][-2:] == [1, 2]
    assert privacy.total == 3 and peak == 2
    assert privacy.days[-1].height_px == 28 and privacy.days[-2].height_px == 14
    assert privacy.days[0].height_px == 0
    assert len(privacy.spark) == 14
    assert [r.total for r in rows[1:]] == [0, 0, 0, 0]


def test_when_sources_had_problems_then_account_health_lists_them() -> None:
    sources = [
        SourceRow(1, "x profile @jo", "Jo", "x", "active", None, END, ok_runs=2),
        SourceRow(2, "x profile @lee", "Lee", "x", "needs_reauth", "token expired", None),
        SourceRow(3, "facebook group g", "Practice", "facebook", "no_api_access", None, None),
        SourceRow(4, "x profile @kim", "Kim", "x", "active", "HTTP 503", END, failed_runs=2),
    ]
    view = build_view(data(sources=sources))
    problems = {r.label: r.problem for r in view.needs_attention}
    assert problems == {
        "x profile @lee": "needs re-authorization",
        "facebook group g": "no API access: not monitored through the platform",
        "x profile @kim": "2 failed syncs: HTTP 503",
    }
    assert [r.label for r in view.checked] == ["x profile @jo"]
    assert [r.label for r in view.not_checked] == ["x profile @kim"]
    assert view.is_empty


def test_when_rendered_then_html_is_well_formed_and_escapes_everything() -> None:
    view = build_view(
        data(
            new=[row(1, "critical", "Ann <admin>", excerpt='<PERSON> "<img src=x>" & more')],
            still_open=[row(2, "high", "Bo", status="escalated")],
            trend_points=[(END - timedelta(hours=2), "patient_privacy")],
        )
    )
    body = Renderer().render(view)
    checker = check_html(body.html)
    assert [t for t, _ in checker.tags if t in ("img", "script")] == []
    assert "&lt;img src=x&gt;" in body.html
    assert "Lakeside &amp; Sons &lt;Clinic&gt;" in body.html
    assert "Ann &lt;admin&gt;" in body.html
    # The text part is not HTML-escaped.
    assert '<PERSON> "<img src=x>" & more' in body.text
    assert "Still open from earlier digests (1)" in body.text
    assert "escalated" in body.text


def test_when_a_backlog_exceeds_max_items_then_the_worst_are_listed_and_the_rest_counted() -> None:
    new = [row(i, "medium", "Ann") for i in range(1, 6)] + [row(9, "critical", "Bo")]
    still_open = [row(20 + i, "high", "Cy") for i in range(3)]
    view = build_view(data(new=new, still_open=still_open, max_items=4))
    listed = [
        [i.finding_id for g in s.groups for st in g.staff for i in st.items] for s in view.sections
    ]
    # The critical one first, then the oldest mediums (the largest ids are the oldest here).
    assert listed == [[9, 5, 4, 3], []]
    assert [(s.count, s.omitted) for s in view.sections] == [(6, 2), (3, 3)]
    assert view.total_new == 6 and view.total_open == 3  # counts still cover everything
    body = Renderer().render(view)
    check_html(body.html)
    assert body.text.count("more not listed here") == 2
    assert "... and 2 more not listed here" in body.text
    assert "&hellip; and 3 more not listed here" in body.html
    assert "finding #2 " not in body.text and "finding #9 " in body.text
    # Room left after the new findings goes to the still-open ones.
    view = build_view(data(new=new[:2], still_open=still_open, max_items=4))
    assert [(s.count, s.omitted) for s in view.sections] == [(2, 0), (3, 1)]
    # Under the limit nothing is left out and nothing is said about it.
    body = Renderer().render(build_view(data(new=new, max_items=6)))
    assert "not listed" not in body.text and "not listed" not in body.html


def test_when_a_practice_overrides_a_template_then_it_is_used_and_typos_fail(
    tmp_path: Path,
) -> None:
    (tmp_path / "digest.txt").write_text("Custom for {{ view.practice_name }}\n")
    body = Renderer(tmp_path).render(build_view(data()))
    assert body.text == "Custom for Lakeside & Sons <Clinic>\n"
    check_html(body.html)  # the built-in HTML is still used
    (tmp_path / "digest.txt").write_text("{{ view.practise_name }}\n")
    with pytest.raises(UndefinedError):
        Renderer(tmp_path).render(build_view(data()))


def test_when_an_immediate_alert_is_rendered_then_it_lists_findings_without_trend() -> None:
    view = build_view(data(kind="immediate", new=[row(1, "critical", "Ann")]))
    body = Renderer().render(view)
    check_html(body.html)
    assert body.subject.endswith("ALERT: 1 critical finding")
    assert "finding #1" in body.text and "Last 14 days" not in body.text


def test_when_a_name_finder_reports_names_then_patients_are_masked_and_staff_kept() -> None:
    texts = ["Dr. Priya saw Robert Chen", "<PERSON> and Priya Natarajan"]

    def finder(batch: list[str]) -> list[list[tuple[int, int, str]]]:
        found = []
        for text in batch:
            spans = []
            for name in ("Priya Natarajan", "Priya", "Robert Chen", "<PERSON>"):
                at = text.find(name)
                if at >= 0 and not any(s <= at < e for s, e, _ in spans):
                    spans.append((at, at + len(name), "PERSON"))
            found.append(spans)
        return found

    assert mask_names(texts, finder, allow=["Dr. Priya Natarajan"]) == [
        "Dr. Priya saw <PERSON>",
        "<PERSON> and Priya Natarajan",
    ]
