"""The scanner, under a small test-only policy (the real one lives in monitor.policy.policy)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from monitor.config import PolicySettings
from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.analyzer import PostAnalyzer
from monitor.policy.base import Analysis
from monitor.policy.scanner import Scanner

_CARE = re.compile(r"\b(?:patient|admitted|came in|surgery)\b", re.IGNORECASE)


@dataclass
class ToyPolicy:
    """Flags a named person or a room number next to a care word; NER only where it matters."""

    version: str = "toy-1"

    def needs_ner(self, post: PostContext, cheap: Analysis) -> bool:
        return _CARE.search(post.text) is not None

    def evaluate(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        if not _CARE.search(post.text):
            return []
        ids = analysis.of_type("PERSON", "ROOM_NUMBER", "MEDICAL_RECORD_NUMBER")
        if not ids:
            return []
        return [
            Finding(
                category=Category.PATIENT_PRIVACY,
                severity=Severity.CRITICAL,
                rule="toy.identifier_with_care",
                spans=tuple((e.start, e.end) for e in ids),
                explanation="An identifier next to care.",
            )
        ]


POSTS = [
    PostContext(id="1", text="Eleanor Whitfield was admitted last night, poor thing"),
    PostContext(id="2", text="Long shift, exhausted. Coffee please."),
    PostContext(id="3", text="the patient in room 12 is driving me nuts"),
    PostContext(id="4", text="Congrats to Dr. Ana Lopez on her award!"),
    PostContext(id="5", text="MRN 00482917 came in for surgery, patient was fine"),
]


@pytest.fixture(scope="session")
def analyzer() -> PostAnalyzer:
    return PostAnalyzer(PolicySettings())


def test_when_pattern_only_then_findings_come_back_in_input_order_with_masked_excerpts() -> None:
    scanner = Scanner(ToyPolicy(), PostAnalyzer(PolicySettings(), ner=False))
    results = scanner.scan_many(POSTS)
    assert [bool(r) for r in results] == [False, False, True, False, True]
    assert results[2][0].excerpt == "<RELATIONSHIP> is driving me nuts"
    assert "00482917" not in results[4][0].excerpt


@pytest.mark.slow
def test_when_policy_needs_no_ner_for_a_post_then_ner_is_skipped_for_it(
    analyzer: PostAnalyzer,
) -> None:
    scanner = Scanner(ToyPolicy(), analyzer)
    results = scanner.scan_many(POSTS)
    assert scanner.ner_posts == 3
    assert results[0][0].excerpt == "<PERSON> was admitted <DATE_TIME>, poor thing"


@pytest.mark.slow
def test_when_shortcuts_are_off_then_findings_are_identical(analyzer: PostAnalyzer) -> None:
    fast = Scanner(ToyPolicy(), analyzer).scan_many(POSTS)
    slow_scanner = Scanner(ToyPolicy(), analyzer, shortcuts=False)
    assert slow_scanner.scan_many(POSTS) == fast
    assert slow_scanner.ner_posts == len(POSTS)


@pytest.mark.slow
def test_when_workers_split_the_batch_then_findings_are_identical_and_in_order(
    analyzer: PostAnalyzer,
) -> None:
    posts = [PostContext(id=str(i), text=POSTS[i % len(POSTS)].text) for i in range(40)]
    serial = Scanner(ToyPolicy(), analyzer).scan_many(posts)
    parallel = Scanner(ToyPolicy(), analyzer, workers=2, min_parallel=1)
    assert parallel.scan_many(posts) == serial
    assert parallel.ner_posts == sum(1 for p in posts if _CARE.search(p.text))


@pytest.mark.slow
def test_when_learned_rules_scan_in_workers_then_the_embedding_is_loaded_before_forking(
    analyzer: PostAnalyzer,
) -> None:
    """Workers share the parent's post embedding (47 MB) instead of each reading it again."""
    from monitor.policy import embedding
    from monitor.policy.policy import Policy

    posts = [PostContext(id=str(i), text=POSTS[i % len(POSTS)].text) for i in range(12)]
    policy = Policy.from_settings(PolicySettings())
    embedding.shipped_embedding.cache_clear()
    parallel = Scanner(policy, analyzer, workers=2, min_parallel=1).scan_many(posts)
    assert embedding.shipped_embedding.cache_info().currsize == 1
    assert parallel == Scanner(policy, analyzer).scan_many(posts)


@dataclass
class InsultPolicy:
    """Flags "idiot" without needing NER: names in its excerpt must still be masked."""

    version: str = "insult-1"

    def needs_ner(self, post: PostContext, cheap: Analysis) -> bool:
        return False

    def evaluate(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        start = post.text.find("idiot")
        if start < 0:
            return []
        return [
            Finding(
                category=Category.HARMFUL_CONTENT,
                severity=Severity.HIGH,
                rule="toy.insult",
                spans=((start, start + 5),),
                explanation="An insult.",
            )
        ]


@pytest.mark.slow
def test_when_rule_needs_no_ner_but_fires_then_names_in_its_excerpt_are_still_masked(
    analyzer: PostAnalyzer,
) -> None:
    posts = [
        PostContext(id="1", text="my idiot coworker Derek Hollingsworth did it again"),
        PostContext(id="2", text="Coffee with Derek Hollingsworth, lovely morning"),
    ]
    scanner = Scanner(InsultPolicy(), analyzer)
    results = scanner.scan_many(posts)
    assert results[0][0].excerpt == "my idiot coworker <PERSON> did it again"
    assert results[1] == []
    assert scanner.ner_posts == 1
    assert results == Scanner(InsultPolicy(), analyzer, shortcuts=False).scan_many(posts)
