"""The digest: what a compliance officer reads each morning, and the immediate alert.

Two halves. ``build_view`` is pure: plain rows in (findings, sources, trend points), a view model
out, with every count, group and bar already decided, so templates only lay it out and tests can
check the content without an email. ``Renderer`` turns a view into HTML and text with Jinja2
(autoescaped HTML, ``StrictUndefined`` so a template typo fails loudly instead of printing
nothing); a practice can override any template by putting a file of the same name in
``[alerts.digest] template_dir``.

Promises: an excerpt or explanation is masked again (``alerts.masking``) before it reaches a view;
a post's full text is in the view only when ``include_full_text`` is set; a finding row is never
dropped by grouping (every input row is in exactly one group).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    select_autoescape,
)

from alerts.masking import mask_identifiers
from monitor.domain import Category, Severity, SourceStatus

SEVERITY_ORDER: tuple[str, ...] = tuple(s.value for s in sorted(Severity, key=lambda s: -s.rank))
CATEGORY_ORDER: tuple[str, ...] = tuple(c.value for c in Category)
# Statuses that still ask for someone's attention.
OPEN_STATUSES: frozenset[str] = frozenset({"open", "acknowledged", "escalated"})
# Sync outcomes that mean a source was not read.
FAILED_SYNC_OUTCOMES: frozenset[str] = frozenset({"failed", "auth_expired", "no_api_access"})
OK_SYNC_OUTCOMES: frozenset[str] = frozenset({"ok", "partial"})

SEVERITY_COLORS = {
    "critical": "#b71c1c",
    "high": "#e65100",
    "medium": "#f9a825",
    "low": "#607d8b",
}
CATEGORY_LABELS = {
    "patient_privacy": "Patient privacy",
    "confidential_info": "Confidential information",
    "missing_disclosure": "Missing disclosure",
    "harmful_content": "Harmful content",
    "medical_advice": "Medical advice",
}
TREND_BAR_MAX_PX = 28
_SPARK = " ▁▂▃▄▅▆▇█"


# ---------------------------------------------------------------------------------------------
# Input rows: plain data, built by the service from storage.


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One finding as a digest needs it. ``full_text`` is the unmasked post: None unless asked."""

    finding_id: int
    category: str
    severity: str
    rule: str
    explanation: str
    excerpt: str
    status: str
    created_at: datetime
    staff_name: str
    source_label: str
    platform: str
    channel: str
    url: str | None
    published_at: datetime | None
    full_text: str | None = None


@dataclass(frozen=True, slots=True)
class SourceRow:
    """A monitored source and how its syncs went during the period."""

    source_id: int
    label: str
    staff_name: str
    platform: str
    status: str
    last_error: str | None
    last_success_at: datetime | None
    ok_runs: int = 0
    failed_runs: int = 0
    posts_fetched: int = 0


@dataclass(frozen=True, slots=True)
class DigestInput:
    """Everything ``build_view`` needs; no database, no settings object."""

    kind: str  # daily | immediate
    practice_name: str
    timezone: str
    period_key: str
    period_start: datetime
    period_end: datetime
    new: Sequence[FindingRow]
    still_open: Sequence[FindingRow] = ()
    sources: Sequence[SourceRow] = ()
    # (created_at, category) of every finding in the trend window.
    trend_points: Sequence[tuple[datetime, str]] = ()
    trend_days: int = 14
    include_full_text: bool = False
    # The most findings one email lists (new first, worst severity first); None: no limit.
    max_items: int | None = None


# ---------------------------------------------------------------------------------------------
# The view model: what templates see.


@dataclass(frozen=True, slots=True)
class ItemView:
    finding_id: int
    category: str
    category_label: str
    severity: str
    color: str
    rule: str
    explanation: str
    excerpt: str
    status: str
    staff_name: str
    source_label: str
    platform: str
    channel: str
    url: str | None
    when: str
    found: str
    full_text: str | None


@dataclass(frozen=True, slots=True)
class StaffGroup:
    staff_name: str
    items: list[ItemView]


@dataclass(frozen=True, slots=True)
class SeverityGroup:
    severity: str
    color: str
    count: int
    staff: list[StaffGroup]


@dataclass(frozen=True, slots=True)
class Section:
    key: str  # new | open
    title: str
    count: int
    groups: list[SeverityGroup]
    omitted: int = 0  # findings of the section the email does not list (``max_items``)


@dataclass(frozen=True, slots=True)
class CountRow:
    key: str
    label: str
    new: int
    still_open: int
    color: str = "#455a64"


@dataclass(frozen=True, slots=True)
class TrendDay:
    day: str  # ISO date
    label: str  # short label, e.g. "05-01"
    count: int
    height_px: int


@dataclass(frozen=True, slots=True)
class TrendRow:
    category: str
    label: str
    days: list[TrendDay]
    total: int
    spark: str  # the text version's bar line


@dataclass(frozen=True, slots=True)
class HealthRow:
    label: str
    staff_name: str
    platform: str
    status: str
    problem: str
    last_success: str


@dataclass(frozen=True, slots=True)
class DigestView:
    """The whole email content, decided; templates add no logic beyond layout."""

    kind: str
    practice_name: str
    title: str
    period_label: str
    period_key: str
    total_new: int
    total_open: int
    new_by_severity: dict[str, int]
    severity_counts: list[CountRow]
    category_counts: list[CountRow]
    sections: list[Section]
    needs_attention: list[HealthRow]
    checked: list[HealthRow]
    not_checked: list[HealthRow]
    trend: list[TrendRow]
    trend_max: int
    is_empty: bool
    include_full_text: bool
    all_finding_ids: list[int] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Build.


def _local(value: datetime | None, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "-"
    return value.astimezone(zone).strftime(fmt)


def _item(row: FindingRow, zone: ZoneInfo, include_full_text: bool) -> ItemView:
    return ItemView(
        finding_id=row.finding_id,
        category=row.category,
        category_label=CATEGORY_LABELS.get(row.category, row.category),
        severity=row.severity,
        color=SEVERITY_COLORS.get(row.severity, "#455a64"),
        rule=row.rule,
        explanation=mask_identifiers(row.explanation),
        excerpt=mask_identifiers(row.excerpt),
        status=row.status,
        staff_name=row.staff_name,
        source_label=row.source_label,
        platform=row.platform,
        channel=row.channel,
        url=row.url,
        when=_local(row.published_at, zone),
        found=_local(row.created_at, zone),
        full_text=row.full_text if include_full_text else None,
    )


def _severity_key(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


def group_items(
    rows: Iterable[FindingRow], zone: ZoneInfo, include_full_text: bool = False
) -> list[SeverityGroup]:
    """Rows grouped by severity (worst first), then staff member (by name), oldest first."""
    by_severity: dict[str, dict[str, list[FindingRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_severity[row.severity][row.staff_name].append(row)
    groups: list[SeverityGroup] = []
    for severity in sorted(by_severity, key=lambda s: (_severity_key(s), s)):
        staff_groups = [
            StaffGroup(
                staff_name=name,
                items=[
                    _item(r, zone, include_full_text)
                    for r in sorted(members, key=lambda r: (r.created_at, r.finding_id))
                ],
            )
            for name, members in sorted(by_severity[severity].items(), key=lambda kv: kv[0])
        ]
        groups.append(
            SeverityGroup(
                severity=severity,
                color=SEVERITY_COLORS.get(severity, "#455a64"),
                count=sum(len(g.items) for g in staff_groups),
                staff=staff_groups,
            )
        )
    return groups


def _count_rows(
    keys: Sequence[str],
    labels: dict[str, str],
    new: Counter[str],
    still_open: Counter[str],
    colors: dict[str, str] | None = None,
) -> list[CountRow]:
    extra = sorted((set(new) | set(still_open)) - set(keys))
    return [
        CountRow(
            key=k,
            label=labels.get(k, k),
            new=new[k],
            still_open=still_open[k],
            color=(colors or {}).get(k, "#455a64"),
        )
        for k in [*keys, *extra]
    ]


def build_trend(
    points: Iterable[tuple[datetime, str]], end_day: date, days: int, zone: ZoneInfo
) -> tuple[list[TrendRow], int]:
    """Findings per category per local day, for ``days`` days ending on ``end_day`` included."""
    day_list = [end_day - timedelta(days=days - 1 - i) for i in range(days)]
    counts: dict[str, Counter[date]] = defaultdict(Counter)
    for created_at, category in points:
        counts[category][created_at.astimezone(zone).date()] += 1
    peak = max((c[d] for c in counts.values() for d in day_list), default=0)
    rows: list[TrendRow] = []
    for category in [*CATEGORY_ORDER, *sorted(set(counts) - set(CATEGORY_ORDER))]:
        per_day = [counts[category][d] for d in day_list]
        trend_days = [
            TrendDay(
                day=d.isoformat(),
                label=d.strftime("%m-%d"),
                count=n,
                height_px=(max(2, round(n / peak * TREND_BAR_MAX_PX)) if n and peak else 0),
            )
            for d, n in zip(day_list, per_day, strict=True)
        ]
        spark = "".join(
            _SPARK[0 if not n else max(1, round(n / peak * (len(_SPARK) - 1)))] for n in per_day
        )
        rows.append(
            TrendRow(
                category=category,
                label=CATEGORY_LABELS.get(category, category),
                days=trend_days,
                total=sum(per_day),
                spark=spark,
            )
        )
    return rows, peak


def _health(sources: Sequence[SourceRow], zone: ZoneInfo) -> tuple[list[HealthRow], ...]:
    attention: list[HealthRow] = []
    checked: list[HealthRow] = []
    not_checked: list[HealthRow] = []
    for src in sorted(sources, key=lambda s: (s.staff_name, s.label)):
        last = _local(src.last_success_at, zone)
        problems: list[str] = []
        if src.status == SourceStatus.NEEDS_REAUTH:
            problems.append("needs re-authorization")
        elif src.status == SourceStatus.NO_API_ACCESS:
            problems.append("no API access: not monitored through the platform")
        if src.failed_runs:
            runs = "sync" if src.failed_runs == 1 else "syncs"
            reason = f": {src.last_error}" if src.last_error else ""
            problems.append(f"{src.failed_runs} failed {runs}{reason}")
        row = HealthRow(
            label=src.label,
            staff_name=src.staff_name,
            platform=src.platform,
            status=src.status,
            problem="; ".join(problems),
            last_success=last,
        )
        if problems:
            attention.append(row)
        if src.status == SourceStatus.DISABLED:
            continue
        if src.ok_runs:
            checked.append(row)
        elif src.status == SourceStatus.ACTIVE:
            not_checked.append(row)
    return attention, checked, not_checked


def listed_first(rows: Sequence[FindingRow], limit: int | None) -> list[FindingRow]:
    """The ``limit`` rows an email lists: worst severity first, then oldest."""
    if limit is None or len(rows) <= limit:
        return list(rows)
    ranked = sorted(rows, key=lambda r: (_severity_key(r.severity), r.created_at, r.finding_id))
    return ranked[: max(0, limit)]


def listed_rows(
    new: Sequence[FindingRow], still_open: Sequence[FindingRow], limit: int | None
) -> tuple[list[FindingRow], list[FindingRow]]:
    """The rows of each section an email lists: new ones first, the room left to open ones."""
    new_listed = listed_first(new, limit)
    room = None if limit is None else limit - len(new_listed)
    return new_listed, listed_first(still_open, room)


def build_view(data: DigestInput) -> DigestView:
    """Decide the digest's whole content from plain rows (pure: no I/O, no clock).

    A backlog (a first scan of a year of posts) must not become an email no server accepts:
    past ``max_items`` the lowest-severity, newest findings are counted but not listed.
    """
    zone = ZoneInfo(data.timezone)
    new_listed, open_listed = listed_rows(data.new, data.still_open, data.max_items)
    new_sev = Counter(r.severity for r in data.new)
    open_sev = Counter(r.severity for r in data.still_open)
    new_cat = Counter(r.category for r in data.new)
    open_cat = Counter(r.category for r in data.still_open)
    sections = [
        Section(
            key="new",
            title="New findings" if data.kind == "daily" else "Critical findings",
            count=len(data.new),
            groups=group_items(new_listed, zone, data.include_full_text),
            omitted=len(data.new) - len(new_listed),
        )
    ]
    if data.kind == "daily":
        sections.append(
            Section(
                key="open",
                title="Still open from earlier digests",
                count=len(data.still_open),
                groups=group_items(open_listed, zone, data.include_full_text),
                omitted=len(data.still_open) - len(open_listed),
            )
        )
    attention, checked, not_checked = _health(data.sources, zone)
    end_day = (data.period_end - timedelta(microseconds=1)).astimezone(zone).date()
    trend, peak = (
        build_trend(data.trend_points, end_day, data.trend_days, zone)
        if data.kind == "daily"
        else ([], 0)
    )
    period_label = (
        f"{_local(data.period_start, zone)} to {_local(data.period_end, zone)} ({data.timezone})"
    )
    title = (
        f"Daily social media digest, {data.period_key}"
        if data.kind == "daily"
        else "Immediate alert: critical social media findings"
    )
    return DigestView(
        kind=data.kind,
        practice_name=data.practice_name,
        title=title,
        period_label=period_label,
        period_key=data.period_key,
        total_new=len(data.new),
        total_open=len(data.still_open),
        new_by_severity={s: new_sev[s] for s in SEVERITY_ORDER if new_sev[s]},
        severity_counts=_count_rows(
            SEVERITY_ORDER,
            {s: s.capitalize() for s in SEVERITY_ORDER},
            new_sev,
            open_sev,
            SEVERITY_COLORS,
        ),
        category_counts=_count_rows(CATEGORY_ORDER, CATEGORY_LABELS, new_cat, open_cat),
        sections=sections,
        needs_attention=attention,
        checked=checked,
        not_checked=not_checked,
        trend=trend,
        trend_max=peak,
        is_empty=not data.new and not data.still_open,
        include_full_text=data.include_full_text,
        all_finding_ids=[r.finding_id for r in [*data.new, *data.still_open]],
    )


def subject_for(view: DigestView) -> str:
    """The subject line: practice name, kind and counts only, never finding content."""
    if view.kind == "daily":
        if view.is_empty:
            counts = "no findings"
        else:
            worst = ", ".join(f"{n} {s}" for s, n in view.new_by_severity.items())
            counts = f"{view.total_new} new" + (f" ({worst})" if worst else "")
            counts += f", {view.total_open} still open"
        return f"[Social Monitor] {view.practice_name}: digest {view.period_key}: {counts}"
    noun = "finding" if view.total_new == 1 else "findings"
    return f"[Social Monitor] {view.practice_name}: ALERT: {view.total_new} critical {noun}"


# ---------------------------------------------------------------------------------------------
# Render.


@dataclass(frozen=True, slots=True)
class RenderedBody:
    subject: str
    text: str
    html: str


class Renderer:
    """Jinja2 rendering of views; a practice's template folder wins over the built-in one."""

    def __init__(self, template_dir: str | Path | None = None) -> None:
        loaders: list[BaseLoader] = []
        if template_dir:
            loaders.append(FileSystemLoader(str(template_dir)))
        loaders.append(PackageLoader("alerts", "templates"))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )

    def render(self, view: DigestView) -> RenderedBody:
        """Subject, plain text and HTML for a daily digest or an immediate alert."""
        name = "digest" if view.kind == "daily" else "immediate"
        context = {
            "view": view,
            "severity_colors": SEVERITY_COLORS,
            "bar_max_px": TREND_BAR_MAX_PX,
        }
        html = self.env.get_template(f"{name}.html").render(context)
        text = self.env.get_template(f"{name}.txt").render(context)
        return RenderedBody(subject=subject_for(view), text=text, html=html)
