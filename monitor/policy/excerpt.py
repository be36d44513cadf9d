"""The masked excerpt: the part of a post a finding is about, safe to email.

A window of the text around the finding's spans, widened to whole words, in which every
identifier the analyzer found is replaced by its type (``<PERSON>``, ``<ROOM_NUMBER>``, ...).
An identifier cut by the window's edge widens the window rather than leak a fragment;
overlapping identifiers are masked as one (the longest one's type). As a safety net for what
the recognizers missed, @handles become ``<USERNAME>`` and runs of five or more digits
``<NUMBER>``. Line breaks become spaces so that an excerpt is one line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from monitor.policy.base import Entity

DEFAULT_WINDOW = 80
ELLIPSIS = "…"

_SAFETY_NETS = (
    ("USERNAME", re.compile(r"(?<![\w@])@\w{1,30}")),
    ("NUMBER", re.compile(r"\d(?:[\d\s().\-/]*\d){4,}")),
)


def _masks(text: str, entities: Sequence[Entity]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, type) intervals to mask, in text order."""
    raw = [(e.start, e.end, e.type) for e in entities if 0 <= e.start < e.end <= len(text)]
    for kind, pattern in _SAFETY_NETS:
        raw += [(m.start(), m.end(), kind) for m in pattern.finditer(text)]
    raw.sort(key=lambda r: (r[0], -(r[1] - r[0])))
    merged: list[tuple[int, int, str, int]] = []  # start, end, type, length of that type's span
    for start, end, kind in raw:
        if merged and start < merged[-1][1]:
            m_start, m_end, m_kind, m_len = merged[-1]
            if end - start > m_len and kind not in ("USERNAME", "NUMBER"):
                m_kind, m_len = kind, end - start
            merged[-1] = (m_start, max(m_end, end), m_kind, m_len)
        else:
            merged.append((start, end, kind, end - start))
    return [(s, e, k) for s, e, k, _ in merged]


def _widen(text: str, start: int, end: int, masks: list[tuple[int, int, str]]) -> tuple[int, int]:
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    for m_start, m_end, _ in masks:
        if m_start < start < m_end:
            start = m_start
        if m_start < end < m_end:
            end = m_end
    return start, end


def mask_excerpt(
    text: str,
    spans: Sequence[tuple[int, int]],
    entities: Sequence[Entity],
    *,
    window: int = DEFAULT_WINDOW,
) -> str:
    """The masked excerpt of ``text`` around ``spans`` (the start of the text if none)."""
    if not text:
        return ""
    valid = [(max(0, s), min(len(text), e)) for s, e in spans if e > s]
    if valid:
        lo, hi = min(s for s, _ in valid), max(e for _, e in valid)
    else:
        lo, hi = 0, 0
    masks = _masks(text, entities)
    start, end = _widen(text, max(0, lo - window), min(len(text), hi + window), masks)
    pieces: list[str] = [ELLIPSIS] if start > 0 else []
    cursor = start
    for m_start, m_end, kind in masks:
        if m_end <= start or m_start >= end:
            continue
        pieces.append(text[cursor:m_start])
        pieces.append(f"<{kind}>")
        cursor = m_end
    pieces.append(text[cursor:end])
    if end < len(text):
        pieces.append(ELLIPSIS)
    return re.sub(r"\s+", " ", "".join(pieces)).strip()
