"""Posts in, ``Analysis`` out: presidio's entities, minus what the practice allowlisted.

Two passes with one promise between them:

* ``patterns(posts)``: the cheap pass (pattern recognizers, no model), ``ner_ran=False``.
* ``with_ner(posts, cheap)``: adds the spaCy NER entities (PERSON, LOCATION, DATE_TIME, NRP)
  to cheap analyses, ``ner_ran=True``.

NER only ever **adds** entities: a post's pattern entities are the same with or without it,
so a rule can decide from the cheap analysis whether extra names or places could change its
result (``Rule.needs_ner``). ``analyze(posts)`` does both passes on every post.

Allowlists (``PolicySettings``) drop identifiers that are never PHI: phones compared on digits
only (a leading US "1" ignored), emails case-insensitively, names and addresses
case-insensitively. PERSON entities naming the author, an allowlisted staff member or the
practice (its name or an alias) are dropped too; so are URL hits inside an email address
(presidio reports an email's domain as a URL as well).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.config import PolicySettings
from monitor.domain import PostContext
from monitor.policy.base import Analysis, Entity

# Below presidio's phone score (0.40 without context) nothing is kept: weak patterns (a bare
# 8-digit run as a record number, 0.05) count only when a context word raised them.
DEFAULT_SCORE_THRESHOLD = 0.35
NER_BATCH_SIZE = 64

_HONORIFICS = frozenset(
    [
        "dr",
        "doc",
        "doctor",
        "mr",
        "mrs",
        "ms",
        "miss",
        "mx",
        "nurse",
        "prof",
        "professor",
        "sir",
        "madam",
        "rn",
        "np",
        "pa",
        "md",
    ]
)
_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)*", re.UNICODE)


def _digits(value: str) -> str:
    digits = re.sub(r"\D", "", value)
    return digits[1:] if len(digits) == 11 and digits.startswith("1") else digits


def _name_tokens(value: str) -> frozenset[str]:
    words = [w.lower().removesuffix("'s").removesuffix("’s") for w in _WORD.findall(value)]
    return frozenset(w for w in words if w not in _HONORIFICS)


def _normalized(value: str) -> str:
    return " ".join(w.lower() for w in _WORD.findall(value))


def _phrase_pattern(phrases: Iterable[str]) -> re.Pattern[str] | None:
    """One case-insensitive pattern matching any phrase, whitespace and punctuation-flexible."""
    parts = []
    for phrase in phrases:
        words = _WORD.findall(phrase)
        if words:
            parts.append(r"\b" + r"[\W_]+".join(re.escape(w) for w in words) + r"\b")
    if not parts:
        return None
    return re.compile("|".join(sorted(parts, key=len, reverse=True)), re.IGNORECASE)


@dataclass(frozen=True)
class Allowlist:
    """The practice's identifiers that are never PHI, normalized once."""

    phones: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    addresses: tuple[str, ...] = ()
    names: tuple[frozenset[str], ...] = ()
    # Where the practice's own names and addresses occur in a text (entities inside are kept
    # out whatever their type, e.g. "Springfield" in "Springfield Family Medicine").
    phrases: re.Pattern[str] | None = None

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> Allowlist:
        practice = [settings.practice_name, *settings.practice_aliases]
        return cls(
            phones=frozenset(d for d in map(_digits, settings.allow_phones) if d),
            emails=frozenset(e.strip().lower() for e in settings.allow_emails if e.strip()),
            addresses=tuple(a for a in map(_normalized, settings.allow_addresses) if a),
            names=tuple(t for t in map(_name_tokens, [*settings.allow_names, *practice]) if t),
            phrases=_phrase_pattern(p for p in [*practice, *settings.allow_addresses] if p.strip()),
        )

    def filter(self, post: PostContext, entities: Sequence[Entity]) -> list[Entity]:
        """The entities that remain once allowlisted identifiers are dropped."""
        author = _name_tokens(post.author.name)
        names = (*self.names, author) if author else self.names
        covered = [m.span() for m in self.phrases.finditer(post.text)] if self.phrases else []
        emails = [(e.start, e.end) for e in entities if e.type == "EMAIL_ADDRESS"]
        kept = []
        for entity in entities:
            if self._allowed(entity, names, covered, emails):
                continue
            kept.append(entity)
        return kept

    def _allowed(
        self,
        entity: Entity,
        names: tuple[frozenset[str], ...],
        covered: list[tuple[int, int]],
        emails: list[tuple[int, int]],
    ) -> bool:
        kind = entity.type
        if kind == "PHONE_NUMBER":
            return _digits(entity.text) in self.phones
        if kind == "EMAIL_ADDRESS":
            return entity.text.strip().lower() in self.emails
        if kind == "URL" and any(s <= entity.start and entity.end <= e for s, e in emails):
            return True
        if kind in ("PERSON", "LOCATION", "NRP", "STREET_ADDRESS") and any(
            s <= entity.start and entity.end <= e for s, e in covered
        ):
            return True
        if kind == "PERSON":
            tokens = _name_tokens(entity.text)
            return bool(tokens) and any(tokens <= allowed for allowed in names)
        if kind in ("LOCATION", "STREET_ADDRESS"):
            text = _normalized(entity.text)
            return bool(text) and any(text in address for address in self.addresses)
        return False


def _entities(text: str, results: Iterable[Any], threshold: float) -> list[Entity]:
    """presidio's results as our entities, below-threshold ones dropped."""
    found = []
    for r in results:
        score = float(r.score)
        if score < threshold:
            continue
        start, end = int(r.start), int(r.end)
        found.append(Entity(str(r.entity_type), start, end, round(score, 4), text[start:end]))
    return found


def _sorted(entities: Iterable[Entity]) -> tuple[Entity, ...]:
    return tuple(sorted(entities, key=lambda e: (e.start, e.end, e.type, -e.score)))


class PostAnalyzer:
    """Presidio over posts: the cheap pattern pass, and spaCy NER on the posts that need it.

    ``ner=False`` is the pattern-only mode: the spaCy model is never loaded and ``with_ner``
    returns the cheap analyses unchanged. ``triggers=False`` asks presidio for every entity
    type on every post instead of only those whose cheap trigger is present (same result,
    slower: for checking the triggers).
    """

    def __init__(
        self,
        settings: PolicySettings,
        *,
        ner: bool = True,
        score_threshold: float = DEFAULT_SCORE_THRESHOLD,
        triggers: bool = True,
    ) -> None:
        self.settings = settings
        self.triggers = triggers
        self.ner_enabled = ner
        self.score_threshold = score_threshold
        self.allowlist = Allowlist.from_settings(settings)

    def patterns(self, posts: Sequence[PostContext]) -> list[Analysis]:
        """The cheap analysis of each post: pattern recognizers only."""
        from monitor.policy.nlp import LANGUAGE, pattern_engine, triggered_entities

        engine = pattern_engine()
        analyses = []
        for post in posts:
            entities = triggered_entities(engine, post.text) if self.triggers else None
            if entities == []:
                analyses.append(Analysis(ner_ran=False))
                continue
            results = engine.analyze(
                post.text, language=LANGUAGE, entities=entities, score_threshold=0.0
            )
            found = _entities(post.text, results, self.score_threshold)
            analyses.append(
                Analysis(entities=_sorted(self.allowlist.filter(post, found)), ner_ran=False)
            )
        return analyses

    def with_ner(
        self,
        posts: Sequence[PostContext],
        cheap: Sequence[Analysis],
        *,
        batched: bool = True,
    ) -> list[Analysis]:
        """``cheap`` plus the NER entities of each post (batched through ``nlp.pipe``)."""
        if not self.ner_enabled:
            return list(cheap)
        from monitor.policy.nlp import ner_engine

        engine = ner_engine(self.settings.spacy_model)
        texts = [p.text for p in posts]
        if batched:
            per_post = engine.analyze_many(texts, batch_size=NER_BATCH_SIZE)
        else:
            per_post = [engine.analyze_one(t) for t in texts]
        out = []
        for post, analysis, results in zip(posts, cheap, per_post, strict=True):
            ner = self.allowlist.filter(post, _entities(post.text, results, self.score_threshold))
            have = {(e.type, e.start, e.end) for e in analysis.entities}
            added = [e for e in ner if (e.type, e.start, e.end) not in have]
            out.append(
                Analysis(
                    entities=_sorted([*analysis.entities, *added]),
                    ner_ran=True,
                    extras=dict(analysis.extras),
                )
            )
        return out

    def analyze(self, posts: Sequence[PostContext]) -> list[Analysis]:
        """Both passes on every post (NER only if enabled)."""
        return self.with_ner(posts, self.patterns(posts))
