"""Masked excerpts: a window around the finding, every identifier replaced by its type."""

from __future__ import annotations

from monitor.policy.base import Entity
from monitor.policy.excerpt import mask_excerpt


def _entity(text: str, kind: str, value: str) -> Entity:
    start = text.index(value)
    return Entity(kind, start, start + len(value), 0.85, value)


def test_when_excerpt_is_built_then_every_identifier_is_replaced_by_its_type() -> None:
    text = "Eleanor Whitfield in room 12 is a nightmare, MRN 00482917"
    entities = [
        _entity(text, "PERSON", "Eleanor Whitfield"),
        _entity(text, "ROOM_NUMBER", "room 12"),
        _entity(text, "MEDICAL_RECORD_NUMBER", "00482917"),
    ]
    span = (text.index("nightmare"), text.index("nightmare") + 9)
    excerpt = mask_excerpt(text, [span], entities)
    assert excerpt == "<PERSON> in <ROOM_NUMBER> is a nightmare, MRN <MEDICAL_RECORD_NUMBER>"


def test_when_window_edge_cuts_an_identifier_then_it_is_masked_whole() -> None:
    text = "Update: " + "blah " * 30 + "Eleanor Whitfield was admitted" + " more" * 30
    name = _entity(text, "PERSON", "Eleanor Whitfield")
    span = (text.index("admitted"), text.index("admitted") + 8)
    excerpt = mask_excerpt(text, [span], [name], window=12)
    assert "<PERSON>" in excerpt
    assert "Eleanor" not in excerpt and "Whitfield" not in excerpt
    assert excerpt.startswith("…") and excerpt.endswith("…")


def test_when_identifiers_overlap_then_they_become_one_mask_of_the_longest_type() -> None:
    text = "the lady in bed 4 keeps ringing"
    entities = [
        _entity(text, "RELATIONSHIP", "the lady in bed 4"),
        _entity(text, "ROOM_NUMBER", "bed 4"),
    ]
    assert mask_excerpt(text, [(0, 17)], entities) == "<RELATIONSHIP> keeps ringing"


def test_when_recognizers_missed_a_handle_or_long_number_then_safety_net_masks_it() -> None:
    text = "@jen_r82 sounds like strep, your chart 4471 823 99 says so"
    excerpt = mask_excerpt(text, [(9, 26)], [])
    assert "jen_r82" not in excerpt and "4471" not in excerpt
    assert excerpt.startswith("<USERNAME> sounds like strep")
    assert "<NUMBER>" in excerpt


def test_when_finding_has_no_span_then_excerpt_is_the_start_of_the_text() -> None:
    text = "Line one\nline two " + "x " * 200
    excerpt = mask_excerpt(text, [], [])
    assert excerpt.startswith("Line one line two")
    assert "\n" not in excerpt
    assert excerpt.endswith("…")
