"""The scanner's core interfaces: what analysis yields and what a rule is.

Pure and deterministic: no I/O, no third-party imports. The analyzer (presidio + spaCy +
custom recognizers) turns a post into an ``Analysis``; rules read the post and its analysis and
return findings. Rules never call the analyzer themselves, so one expensive analysis serves all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import ClassVar

from monitor.domain import Category, Finding, PostContext, Severity


@dataclass(frozen=True, slots=True)
class Entity:
    """An identifier found in the text: ``type`` uses presidio's names (PERSON, PHONE_NUMBER,
    ...) plus ours (MEDICAL_RECORD_NUMBER, ROOM_NUMBER, AGE, RELATIONSHIP, ...)."""

    type: str
    start: int
    end: int
    score: float
    text: str


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything the analyzer learned about one post's text."""

    entities: tuple[Entity, ...] = ()
    # Whether the costly NER ran for this post (a shortcut may skip it where it cannot matter).
    ner_ran: bool = True
    extras: dict[str, object] = field(default_factory=dict)

    def of_type(self, *types: str) -> list[Entity]:
        return [e for e in self.entities if e.type in types]


class Rule(ABC):
    """One policy rule: an id, a category, a default severity and a pure ``check``."""

    id: ClassVar[str]
    category: ClassVar[Category]
    severity: ClassVar[Severity]
    explanation: ClassVar[str]

    @abstractmethod
    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        """The findings of this rule on one post; empty when the post complies."""

    def needs_ner(self, post: PostContext, analysis: Analysis) -> bool:
        """Whether names or places from the costly NER could change this rule's result here.

        ``analysis`` holds the cheap (pattern-only) entities. The scanner skips NER for a post
        when no enabled rule needs it; answering True is always safe, only slower.
        """
        return True
