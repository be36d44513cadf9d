"""How long building and rendering a digest takes, and how big the email gets, by size.

Pure part only (view model + Jinja2 + MIME), no database and no NER: prints one line per size,
without a limit and with the default ``[alerts.digest] max_items`` (the ratio: what the cap saves).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alerts.digest import DigestInput, FindingRow, Renderer, SourceRow, build_view
from alerts.email import RenderedMessage, build_email
from monitor.config import DigestSettings

END = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
CATEGORIES = ["patient_privacy", "confidential_info", "missing_disclosure", "medical_advice"]
SEVERITIES = ["critical", "high", "medium", "low"]


def rows(n: int) -> list[FindingRow]:
    return [
        FindingRow(
            finding_id=i,
            category=CATEGORIES[i % 4],
            severity=SEVERITIES[i % 4],
            rule="rule.id",
            explanation="Identifies a patient next to care context.",
            excerpt="Saw <PERSON> in <ROOM_NUMBER> for chemo, call <PHONE_NUMBER> & more text here",
            status="open",
            created_at=END - timedelta(minutes=i),
            staff_name=f"Staff {i % 25}",
            source_label=f"x profile @staff{i % 25}",
            platform="x",
            channel="public",
            url=f"https://x.com/i/status/{i}",
            published_at=END - timedelta(minutes=i + 5),
        )
        for i in range(n)
    ]


def render(renderer: Renderer, data: DigestInput) -> tuple[float, int]:
    """Milliseconds to build, render and encode the email, and its size in bytes."""
    start = time.perf_counter()
    body = renderer.render(build_view(data))
    raw = build_email(
        RenderedMessage(
            "<bench@localhost>",
            "a@localhost",
            ("b@localhost",),
            body.subject,
            body.text,
            body.html,
            END,
        )
    ).as_bytes()
    return (time.perf_counter() - start) * 1000, len(raw)


def main() -> None:
    renderer = Renderer()
    cap = DigestSettings().max_items
    sources = [
        SourceRow(i, f"x profile @staff{i}", f"Staff {i}", "x", "active", None, END, ok_runs=4)
        for i in range(25)
    ]
    for n in (0, 50, 500, 2000, 10000):
        data = DigestInput(
            kind="daily",
            practice_name="Bench Clinic",
            timezone="America/New_York",
            period_key="2026-03-10",
            period_start=END - timedelta(days=1),
            period_end=END,
            new=rows(n),
            sources=sources,
            trend_points=[(END - timedelta(hours=i), CATEGORIES[i % 4]) for i in range(300)],
        )
        ms, size = render(renderer, data)
        capped_ms, capped = render(renderer, replace(data, max_items=cap))
        print(
            f"digest of {n:5d} findings: {ms:8.1f} ms, email {size / 1024:8.1f} KiB; "
            f"max_items {cap}: {capped_ms:7.1f} ms, {capped / 1024:7.1f} KiB "
            f"({size / capped:5.1f}x smaller)"
        )


if __name__ == "__main__":
    main()
