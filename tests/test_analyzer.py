"""The analyzer: presidio entities per post, allowlists applied, NER only adding entities."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.config import PolicySettings
from monitor.domain import Author, PostContext
from monitor.policy.analyzer import Allowlist, PostAnalyzer
from monitor.policy.base import Entity


def _post(text: str, author: str = "") -> PostContext:
    return PostContext(id="p", text=text, author=Author(name=author))


def _types(analyzer: PostAnalyzer, text: str, author: str = "") -> list[tuple[str, str]]:
    analysis = analyzer.patterns([_post(text, author)])[0]
    return [(e.type, e.text) for e in analysis.entities]


@pytest.fixture(scope="session")
def full_analyzer() -> PostAnalyzer:
    settings = PolicySettings(practice_name="Maple Family Clinic", allow_names=["Priya Natarajan"])
    return PostAnalyzer(settings)


def test_when_phone_is_allowlisted_then_it_is_dropped_whatever_its_punctuation() -> None:
    analyzer = PostAnalyzer(PolicySettings(allow_phones=["+1 (217) 555-0199"]), ner=False)
    found = _types(analyzer, "Front desk phone 217.555.0199, or her cell 312-555-0147")
    phones = [t for kind, t in found if kind == "PHONE_NUMBER"]
    assert phones == ["312-555-0147"]


def test_when_email_is_allowlisted_then_it_and_its_domain_url_are_dropped() -> None:
    analyzer = PostAnalyzer(PolicySettings(allow_emails=["FrontDesk@MapleFamily.org"]), ner=False)
    found = _types(analyzer, "Questions? frontdesk@maplefamily.org or jdoe1974@gmail.com")
    assert ("EMAIL_ADDRESS", "frontdesk@maplefamily.org") not in found
    assert ("EMAIL_ADDRESS", "jdoe1974@gmail.com") in found
    assert not any(kind == "URL" for kind, _ in found)


def test_when_pattern_only_mode_then_ner_adds_nothing_and_marks_nothing() -> None:
    analyzer = PostAnalyzer(PolicySettings(), ner=False)
    posts = [_post("John Miller from Boston, MRN 00482917")]
    cheap = analyzer.patterns(posts)
    assert analyzer.with_ner(posts, cheap) == cheap
    assert cheap[0].ner_ran is False
    assert {e.type for e in cheap[0].entities} == {"MEDICAL_RECORD_NUMBER"}


@pytest.mark.parametrize(
    ("entity", "author", "dropped"),
    [
        (Entity("PERSON", 0, 9, 0.85, "Dr. Smith"), "Jane Smith", True),
        (Entity("PERSON", 0, 4, 0.85, "Jane"), "Jane Smith", True),
        (Entity("PERSON", 0, 11, 0.85, "John Miller"), "Jane Smith", False),
        (Entity("PERSON", 0, 15, 0.85, "Priya Natarajan"), "", True),
        (Entity("PERSON", 0, 5, 0.85, "Maple"), "", True),
        (Entity("LOCATION", 0, 11, 0.85, "Springfield"), "", True),
        (Entity("LOCATION", 0, 6, 0.85, "Boston"), "", False),
        (Entity("AGE", 0, 11, 0.8, "82-year-old"), "Jane Smith", False),
    ],
)
def test_when_entity_names_staff_practice_or_own_address_then_allowlist_drops_it(
    entity: Entity, author: str, dropped: bool
) -> None:
    allowlist = Allowlist.from_settings(
        PolicySettings(
            practice_name="Maple Family Clinic",
            allow_names=["Priya Natarajan"],
            allow_addresses=["12 Main Street, Springfield, IL 62701"],
        )
    )
    post = _post("x" * 40, author)
    assert (allowlist.filter(post, [entity]) == []) is dropped


def test_when_practice_name_appears_then_entities_inside_it_are_dropped() -> None:
    allowlist = Allowlist.from_settings(PolicySettings(practice_name="Springfield Family Medicine"))
    text = "Proud of the Springfield Family Medicine team"
    inside = Entity("LOCATION", 13, 24, 0.85, "Springfield")
    assert allowlist.filter(_post(text), [inside]) == []


@pytest.mark.slow
def test_when_ner_runs_then_it_finds_names_and_keeps_every_pattern_entity(
    full_analyzer: PostAnalyzer,
) -> None:
    posts = [_post("Saw John Miller in room 12 today, MRN 00482917, he lives in Boston")]
    cheap = full_analyzer.patterns(posts)
    full = full_analyzer.with_ner(posts, cheap)[0]
    assert set(cheap[0].entities) <= set(full.entities)
    assert ("PERSON", "John Miller") in [(e.type, e.text) for e in full.entities]
    assert full.ner_ran is True


@pytest.mark.slow
def test_when_person_is_author_staff_or_practice_then_ner_entity_is_dropped(
    full_analyzer: PostAnalyzer,
) -> None:
    text = (
        "Jane Smith here with Priya Natarajan at Maple Family Clinic. "
        "Mrs. Eleanor Whitfield was our first patient today."
    )
    analysis = full_analyzer.analyze([_post(text, author="Jane Smith")])[0]
    people = [e.text for e in analysis.entities if e.type == "PERSON"]
    assert people == ["Eleanor Whitfield"]


@pytest.mark.slow
def test_when_batched_or_one_by_one_then_ner_entities_are_identical(
    full_analyzer: PostAnalyzer,
) -> None:
    posts = [
        _post("Mrs. Eleanor Whitfield came in with her son Tom from Dayton."),
        _post("Long shift. Coffee please."),
        _post("Congrats to Dr. Ana Lopez on 20 years at Maple Family Clinic!"),
    ]
    cheap = full_analyzer.patterns(posts)
    assert full_analyzer.with_ner(posts, cheap) == full_analyzer.with_ner(
        posts, cheap, batched=False
    )


SHARED = Path(__file__).resolve().parents[2] / "shared"
SYNTH = SHARED / "fixtures" / "text-corpora" / "presidio-research" / "synth_dataset_v2.json"
DEV_CORPUS = Path(__file__).parent / "data" / "policy_corpus.jsonl"


@pytest.mark.slow
def test_when_triggers_skip_recognizers_then_analysis_equals_the_untriggered_one() -> None:
    texts = [json.loads(line)["text"] for line in DEV_CORPUS.read_text().splitlines() if line]
    if SYNTH.exists():  # presidio-research's synthetic PII sentences (MIT), every fifth one
        texts += [row["full_text"] for row in json.loads(SYNTH.read_text())[::5]]
    posts = [_post(text) for text in texts]
    triggered = PostAnalyzer(PolicySettings(), ner=False)
    untriggered = PostAnalyzer(PolicySettings(), ner=False, triggers=False)
    assert triggered.patterns(posts) == untriggered.patterns(posts)


@pytest.mark.slow
def test_when_ner_skips_presidio_lemmas_then_its_results_are_presidios() -> None:
    """The light artifacts hold all that SpacyRecognizer reads: same results, scores included."""
    from monitor.policy.nlp import LANGUAGE, ner_engine

    engine = ner_engine(PolicySettings().spacy_model)
    texts = [json.loads(line)["text"] for line in DEV_CORPUS.read_text().splitlines() if line]
    names = 0
    for doc in engine.nlp.pipe(texts, disable=engine.disabled):
        full = engine.nlp_engine._doc_to_nlp_artifact(doc, LANGUAGE)
        ours = engine.recognizer.analyze(doc.text, engine._entities, engine._artifacts(doc))
        theirs = engine.recognizer.analyze(doc.text, engine._entities, full)
        assert [(r.entity_type, r.start, r.end, r.score) for r in ours] == [
            (r.entity_type, r.start, r.end, r.score) for r in theirs
        ], doc.text
        names += sum(r.entity_type == "PERSON" for r in ours)
    assert names > 50  # the comparison did see names
