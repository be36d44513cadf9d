"""Names the small spaCy model calls organizations are read as people (census name lists)."""

from __future__ import annotations

import pytest

from monitor.config import PolicySettings
from monitor.domain import Author, Channel, PostContext
from monitor.policy.census_names import first_names, looks_like_person, surnames


def test_when_census_lists_load_then_they_hold_common_first_names_and_surnames() -> None:
    assert {"mary", "james", "amber"} <= first_names()
    assert {"smith", "morris", "lowry"} <= surnames()


@pytest.mark.parametrize(
    ("words", "person"),
    [
        (["Amber", "Lowry"], True),
        (["Kayden", "Morris"], True),  # a first name too recent for 1990, before a surname
        (["Heartland", "Cardio"], False),
        (["Port", "Ellis"], False),  # a town
        (["Mercy", "Health"], False),
        (["Grace"], False),  # a lone word: as often a brand or a word as a person
        (["MA"], False),
        (["Maple", "Ave"], False),
        (["First", "Baptist"], False),
    ],
)
def test_when_org_span_read_then_only_names_count_as_people(words: list[str], person: bool) -> None:
    assert looks_like_person(words) is person


def test_when_model_calls_a_patient_an_organization_then_analyzer_reports_a_person() -> None:
    from monitor.policy.analyzer import PostAnalyzer

    text = "If you see Amber Lowry in town tell her we're sick of her canceling her OB visits"
    post = PostContext(
        id="1", text=text, platform="x", channel=Channel.PUBLIC, author=Author("A", "nurse", "")
    )
    analysis = PostAnalyzer(PolicySettings()).analyze([post])[0]
    assert ("PERSON", "Amber Lowry") in {(e.type, e.text) for e in analysis.entities}
