"""Text-to-spans tables for the custom recognizers, run through the pattern engine."""

from __future__ import annotations

import pytest

from monitor.policy.nlp import pattern_engine
from monitor.policy.recognizers import CUSTOM_ENTITIES, custom_recognizers

THRESHOLD = 0.35


def _found(text: str, entity: str) -> list[str]:
    results = pattern_engine().analyze(text, language="en", score_threshold=THRESHOLD)
    return sorted(text[r.start : r.end] for r in results if r.entity_type == entity)


@pytest.mark.parametrize(
    ("entity", "text", "expected"),
    [
        ("MEDICAL_RECORD_NUMBER", "MRN 00482917 came back positive", ["00482917"]),
        ("MEDICAL_RECORD_NUMBER", "pulled chart #4471823 for her", ["4471823"]),
        ("MEDICAL_RECORD_NUMBER", "medical record no. 55102948 is wrong", ["55102948"]),
        ("MEDICAL_RECORD_NUMBER", "Rx# 6012345 ready at the pharmacy", ["6012345"]),
        ("MEMBER_ID", "member ID XJH4482017 on the card", ["XJH4482017"]),
        ("MEMBER_ID", "his Medicare number is 1EG4-TE5-MK72", ["1EG4-TE5-MK72"]),
        ("ACCOUNT_NUMBER", "acct # 55012873 still unpaid", ["55012873"]),
        ("ACCOUNT_NUMBER", "claim no. 88120045 was denied", ["88120045"]),
        ("ROOM_NUMBER", "my idiot patient in room 3", ["room 3"]),
        ("ROOM_NUMBER", "the lady in bed 4 keeps ringing", ["bed 4"]),
        ("ROOM_NUMBER", "ICU bed two is crashing", ["ICU bed two"]),
        ("AGE", "82-year-old with a hip fracture", ["82-year-old"]),
        ("AGE", "an eighty-two year old man fell", ["eighty-two year old"]),
        ("AGE", "45F with chest pain", ["45F"]),
        ("AGE", "82 yo in for a fall", ["82 yo"]),
        ("AGE", "she is in her 80s and sharp", ["in her 80s"]),
        ("RELATIONSHIP", "my neighbour's son came in today", ["my neighbour's son"]),
        ("RELATIONSHIP", "guess who I saw: my kid's teacher", ["my kid's teacher"]),
        ("RELATIONSHIP", "the lady in bed 4 keeps ringing", ["the lady in bed 4"]),
        ("RELATIONSHIP", "a friend of mine finally got tested", ["a friend of mine"]),
        ("CHART_PHOTO", "snapped a pic of his chart lol", ["pic of his chart"]),
        ("CHART_PHOTO", "pic of today's whiteboard, names and all", ["pic of today's whiteboard"]),
        ("CHART_PHOTO", "EHR screenshot attached", ["EHR screenshot"]),
        ("CHART_PHOTO", "wild night [photo: census board]", ["[photo: census board]"]),
        (
            "CHART_PHOTO",
            "done! [photo: the sign-in sheet on the counter]",
            ["[photo: the sign-in sheet on the counter]"],
        ),
        (
            "CHART_PHOTO",
            "[pic: tube rack, patient names and DOBs on the stickers] rainbow",
            ["[pic: tube rack, patient names and DOBs on the stickers]"],
        ),
        ("ROOM_NUMBER", "the genius in exam 5 wants antibiotics", ["in exam 5"]),
        ("ROOM_NUMBER", "pt in triage 4 asking for a blanket", ["in triage 4"]),
        ("ACCOUNT_NUMBER", "Account WC-77210 paid in pennies", ["WC-77210"]),
        ("MEMBER_ID", "the Medicaid guy (ID 77120934) called again", ["77120934"]),
        ("STREET_ADDRESS", "dropped her supplies at 42 Birch Lane today", ["42 Birch Lane"]),
        ("STREET_ADDRESS", "the twins' mom at 18 Orchard Rd. is home", ["18 Orchard Rd."]),
        ("STREET_ADDRESS", "lives at 1200 N Main St by the bank", ["1200 N Main St"]),
        ("PERSON", "Shoutout to Mrs. Alvarez for the tamales", ["Mrs. Alvarez"]),
        ("PERSON", "Ms. R from the Eastside apartments", ["Ms. R"]),
        ("PERSON", "the Sanchez kid with the fishhook", ["Sanchez"]),
        ("PERSON", "the Thompson boy has chicken pox", ["Thompson"]),
        ("PERSON", 'HSG film with "DONOVAN, KEIRA" in the corner', ["DONOVAN, KEIRA"]),
        ("PERSON", "the 'GARCIA, L' label in the corner", ["GARCIA, L"]),
        ("PERSON", 'printout says "Baby Okonkwo" at the top', ["Baby Okonkwo"]),
        (
            "EMAIL_ADDRESS",
            "wrote tj.martell88@mail.example on the sheet",
            ["tj.martell88@mail.example"],
        ),
        ("DATE_TIME", "band says DOB 01/14 and the time", ["01/14"]),
        ("AGE", "a 9-yo with keratoconus", ["9-yo"]),
    ],
)
def test_when_text_has_identifier_then_recognizer_reports_its_span(
    entity: str, text: str, expected: list[str]
) -> None:
    assert set(expected) <= set(_found(text, entity))


@pytest.mark.parametrize(
    ("entity", "text"),
    [
        ("AGE", "a 300-year-old building downtown"),
        ("AGE", "adults aged 65 and older should get the shot"),
        ("AGE", "we raised $45M for the new wing"),
        ("ROOM_NUMBER", "there is room for improvement"),
        ("ROOM_NUMBER", "the waiting room is being repainted"),
        ("MEDICAL_RECORD_NUMBER", "our patient portal launched in 2024"),
        ("ACCOUNT_NUMBER", "follow our account for updates"),
        ("MEMBER_ID", "ask about our plan options"),
        ("RELATIONSHIP", "my shift was long and my feet hurt"),
        ("CHART_PHOTO", "[photo: sunset over the lake]"),
        ("CHART_PHOTO", "[photo: our 5k team, names on the bibs]"),
        ("CHART_PHOTO", "took a picture of the sunset"),
        ("ROOM_NUMBER", "studying for exam 2 tonight"),
        ("STREET_ADDRESS", "3 tips for a healthy heart"),
        ("STREET_ADDRESS", "we saw 20 patients on Main St today"),
        ("PERSON", "the Cubs fans were loud"),
        ("PERSON", "the new kid on the team"),
        ("PERSON", "mrs smith"),
        ("MEMBER_ID", "ID badge reader is down"),
        ("PERSON", "PLEASE, STOP ASKING"),
        ("PERSON", "NEVER, EVER AGAIN"),
        ("DATE_TIME", "take 1/2 tab twice a day"),
    ],
)
def test_when_text_has_no_identifier_then_recognizer_stays_silent(entity: str, text: str) -> None:
    assert _found(text, entity) == []


def test_when_recognizers_are_built_then_each_reports_one_distinct_custom_entity() -> None:
    entities = [r.supported_entities for r in custom_recognizers()]
    assert all(len(e) == 1 for e in entities)
    # Names by title or family ("Mrs. Alvarez") are reported as PERSON, like the NER's.
    assert sorted(e[0] for e in entities) == sorted([*CUSTOM_ENTITIES, "PERSON"])


def test_when_presidio_medical_recognizers_are_enabled_then_they_report_our_names() -> None:
    names = {r.name: r.supported_entities[0] for r in pattern_engine().registry.recognizers}
    assert names["UsHealthInsuranceMemberIdRecognizer"] == "MEMBER_ID"
    assert names["UsClaimNumberRecognizer"] == "ACCOUNT_NUMBER"
    assert "SpacyRecognizer" not in names


def _labeled_texts() -> list[str]:
    import json
    from pathlib import Path

    data = Path(__file__).parent / "data"
    return [
        json.loads(line)["text"]
        for path in sorted(data.glob("policy_*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


TRICKY = [
    "member id BCX-44318207, see www.portal.example.com and http://a.b.org/x",
    "ids: AB123456 / Z-9981234 / ABCDEFG-HIJKL-9 / abcde12345abcde12345x9",
    "mail me at jo.b@clinic.org or visit clinic.org.uk, not 1.2.3.4",
    "\"www2.clinic.net\" and 'lab.results.com' at 555-0101",
]


@pytest.mark.slow
def test_when_presidio_patterns_are_made_linear_then_they_find_exactly_what_the_originals_did() -> (
    None
):
    import regex
    from presidio_analyzer.predefined_recognizers import (
        UrlRecognizer,
        UsHealthInsuranceMemberIdRecognizer,
    )

    from monitor.policy.recognizers import LINEAR_MEMBER_ID, linear_url_recognizer

    flags = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
    pairs = [
        (UsHealthInsuranceMemberIdRecognizer.PATTERNS[0].regex, LINEAR_MEMBER_ID.regex),
        *(
            (old.regex, new.regex)
            for old, new in zip(
                UrlRecognizer.PATTERNS, linear_url_recognizer().patterns, strict=True
            )
        ),
    ]
    texts = _labeled_texts() + TRICKY
    hits = 0
    for old, new in pairs:
        before, after = regex.compile(old, flags), regex.compile(new, flags)
        for text in texts:
            expected = [m.span() for m in before.finditer(text)]
            assert [m.span() for m in after.finditer(text)] == expected, (new, text)
            hits += len(expected)
    assert hits > 50  # the comparison saw real matches, not only silence
    # The inputs that made the originals quadratic still match nothing, now in linear time.
    for text in ("a-" * 2000, "1-" * 2000, "aa." * 2000):
        for _, new in pairs:
            assert list(regex.compile(new, flags).finditer(text)) == []


def test_when_the_entity_token_is_found_by_bisection_then_it_is_the_token_presidio_finds() -> None:
    from presidio_analyzer.context_aware_enhancers import LemmaContextAwareEnhancer

    from monitor.policy.nlp import BisectContextEnhancer, TokenizerNlpEngine

    engine = TokenizerNlpEngine()
    engine.load()
    for text in ["Mrs  Patel,in room 4!!  ", "x", "  lead and trail  ", "a-b c.d 555-0101 é"]:
        art = engine.process_text(text, "en")
        for start in range(len(text) + 2):
            outcomes = []
            for finder in (LemmaContextAwareEnhancer, BisectContextEnhancer):
                try:
                    found = finder._find_index_of_match_token(
                        "w", start, art.tokens, art.tokens_indices
                    )
                    outcomes.append(found)
                except ValueError:
                    outcomes.append(None)
            assert outcomes[0] == outcomes[1], (text, start, outcomes)


@pytest.mark.slow
def test_when_the_pattern_engine_enhances_context_then_results_match_presidios_own() -> None:
    from presidio_analyzer import AnalyzerEngine

    from monitor.policy.nlp import LANGUAGE, TokenizerNlpEngine, pattern_engine, pattern_registry

    nlp = TokenizerNlpEngine()
    nlp.load()
    stock = AnalyzerEngine(
        registry=pattern_registry(), nlp_engine=nlp, supported_languages=[LANGUAGE]
    )
    ours = pattern_engine()
    texts = _labeled_texts()[::7] + TRICKY
    boosted = 0
    for text in texts:
        expected = stock.analyze(text, language=LANGUAGE, score_threshold=0.0)
        found = ours.analyze(
            text, language=LANGUAGE, score_threshold=0.0, return_decision_process=True
        )
        key = lambda r: (r.start, r.end, r.entity_type, round(r.score, 6))  # noqa: E731
        assert sorted(map(key, found)) == sorted(map(key, expected)), text
        boosted += sum(
            1
            for r in found
            if r.analysis_explanation and r.analysis_explanation.score_context_improvement > 0
        )
    assert boosted > 20  # context words did raise scores: the enhancer was exercised
