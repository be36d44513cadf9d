"""The learned policy rules: shipped model, determinism, registration, NER independence.

Plus the detection fixes the rules engineer reported, and a table of POLICY.md's hard cases
scanned by the full policy (hand rules and learned rules together).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import PolicySettings
from monitor.domain import Author, Category, Channel, PostContext
from monitor.policy import policy as policy_module
from monitor.policy.base import Analysis, Entity
from monitor.policy.embedding import DIM
from monitor.policy.features import FeatureExtractor
from monitor.policy.learned import CategoryModel, LearnedModel, model_path, shipped_model
from monitor.policy.nlp import recase_capitals
from monitor.policy.policy import Policy
from monitor.policy.rules.learned import LEARNED_RULES, LearnedDisclosure, LearnedPrivacy
from monitor.policy.train import (
    BLEND,
    THRESHOLDS,
    Example,
    choose_threshold,
    embeddings,
    fit,
    fit_head,
    grouped,
    matrix,
    runtime_veto,
    train,
)
from tests.policy_cases import FRONT_DESK, NURSE, PRACTICE, categories, scan

CATEGORIES = [c.value for c in Category]


def _post(text: str, channel: Channel = Channel.PUBLIC, author: Author = NURSE) -> PostContext:
    return PostContext(id="t", text=text, channel=channel, author=author)


def test_when_model_loaded_then_it_comes_from_package_data_small_with_every_category() -> None:
    path = model_path()
    assert path.parent.name == "data" and path.parent.parent.name == "monitor"
    assert path.stat().st_size < 5_000_000
    model = LearnedModel.load(path)
    assert sorted(model.categories) == sorted(CATEGORIES)
    for m in model.categories.values():
        assert 0.0 < m.threshold < 1.0
        assert np.count_nonzero(m.weights) > 100
    assert model.known_words and model.meta["trained_on"]
    assert shipped_model() is shipped_model()  # loaded once per process


def _examples() -> list[Example]:
    texts = [
        ("you idiot, I hope you get fired", {"harmful_content"}, "a"),
        ("what a lazy useless coworker, everyone hates her", {"harmful_content"}, "a"),
        ("long shift, exhausted, going to bed", set(), "a"),
        ("great turnout at the flu clinic today", set(), "a"),
        ("our patients deserve better than this idiot manager", {"harmful_content"}, "b"),
        ("sunscreen daily, friends", set(), "b"),
        ("stupid pathetic people at work again", {"harmful_content"}, "b"),
        ("lovely weather for the 5k this weekend", set(), "b"),
    ]
    settings = PolicySettings()
    return [
        Example(_post(t), labels, corpus, settings, Analysis(ner_ran=False), set())
        for t, labels, corpus in texts
    ]


def test_when_trained_twice_on_the_same_data_then_the_models_are_identical() -> None:
    first, second = train(_examples()), train(_examples())
    for cat in CATEGORIES:
        a, b = first.categories[cat], second.categories[cat]
        assert np.array_equal(a.weights, b.weights)
        assert (a.bias, a.threshold) == (b.bias, b.threshold)
        assert a.dense is not None and b.dense is not None
        assert np.array_equal(a.dense, b.dense) and a.dense_bias == b.dense_bias
    assert first.known_words == second.known_words


def test_when_model_saved_and_loaded_then_the_embedding_head_and_blend_survive(
    tmp_path: Path,
) -> None:
    model = train(_examples())
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = LearnedModel.load(path)
    assert loaded.embeds and loaded.meta["blend"] == BLEND
    post = _post("you useless idiot, everyone hates you")
    extractor = loaded.extractor(PolicySettings())
    hits: set[str] = set()
    assert loaded.probabilities(extractor, post, Analysis(), hits) == pytest.approx(
        model.probabilities(model.extractor(PolicySettings()), post, Analysis(), hits)
    )
    harmful = loaded.categories["harmful_content"]
    assert harmful.dense is not None and harmful.blend == BLEND
    assert loaded.head is not None and model.head is not None
    assert np.array_equal(loaded.head.weights, model.head.weights)


def test_when_blended_then_the_embedding_head_moves_the_probability_by_its_weight() -> None:
    dense = np.zeros(DIM, dtype=np.float32)
    dense[0] = 4.0
    m = CategoryModel(np.zeros(16, dtype=np.float32), 1.0, 0.5, dense, -1.0, 0.25)
    vector = np.zeros(DIM, dtype=np.float32)
    vector[0] = 1.0  # dense log-odds 4 - 1 = 3; hashed log-odds 1
    z = 0.75 * 1.0 + 0.25 * 3.0
    assert m.probability([], [], vector) == pytest.approx(1 / (1 + np.exp(-z)))
    with pytest.raises(ValueError, match="embedding"):
        m.probability([], [])
    # Without a head (older model files) the hashed model decides alone.
    plain = CategoryModel(np.zeros(16, dtype=np.float32), 1.0, 0.5)
    assert plain.probability([], []) == pytest.approx(1 / (1 + np.exp(-1.0)))


def test_when_trained_then_the_embedding_head_generalizes_to_unseen_words() -> None:
    """The head reads meaning, not the training words: an insult sharing no word with the
    training posts still scores above small talk."""
    examples = _examples()
    y = np.array([[float("harmful_content" in e.labels)] for e in examples])
    w1, b1, w2, b2 = fit_head(embeddings(examples), y)
    assert fit_head(embeddings(examples), y)[0].tobytes() == w1.tobytes()  # deterministic
    probe = [
        Example(_post(t), set(), "c", PolicySettings(), Analysis(ner_ran=False), set())
        for t in ("what a moronic clown, she disgusts me", "sunny morning, coffee on the porch")
    ]
    z = np.maximum(embeddings(probe) @ w1 + b1, 0.0) @ w2[:, 0] + b2[0]
    assert z[0] > z[1]


def test_when_thresholds_chosen_then_the_runtime_vetoes_are_applied_first() -> None:
    # Training picks thresholds on what the scanner reports: no identifiable patient, no
    # privacy finding; a bare redirect to care, no advice finding.
    settings = PolicySettings()
    texts = [
        "A patient came in today for her biopsy results",
        "The mayor's daughter came in today for her biopsy results",
        "@jen please go to the ER now",
        "@jen take 800mg ibuprofen every 6 hours",
        "Grey's Anatomy season 3: the mayor's daughter came in for her biopsy results",
    ]
    exs = [Example(_post(t), set(), "a", settings, Analysis(), set()) for t in texts]
    assert list(runtime_veto(exs, "patient_privacy")) == [True, False, False, False, True]
    assert list(runtime_veto(exs, "medical_advice")) == [False, False, True, False, False]
    assert not runtime_veto(exs, "harmful_content").any()


def test_when_privacy_targets_unreachable_then_threshold_keeps_precision_and_maximizes_recall() -> (
    None
):
    rng = np.random.default_rng(7)
    y = (rng.random(400) < 0.3).astype(np.float64)
    probs = np.clip(0.35 * y + rng.random(400) * 0.65, 0, 1)  # overlapping: no perfect cut
    none = np.zeros(400, dtype=bool)

    def precision_recall(t: float) -> tuple[float, float]:
        pred = probs >= t
        tp = float((pred & (y > 0)).sum())
        return tp / max(1.0, float(pred.sum())), tp / float((y > 0).sum())

    chosen = choose_threshold("patient_privacy", probs, y, none, mode="clf")
    p, r = precision_recall(chosen)
    assert r < 0.95 and p >= 0.85
    assert all(precision_recall(t)[0] < 0.85 for t in THRESHOLDS if t < chosen)
    # Other categories keep the best-F1 threshold.

    def f1(t: float) -> float:
        p, r = precision_recall(t)
        return 2 * p * r / (p + r) if p + r else 0.0

    other = choose_threshold("harmful_content", probs, y, none, mode="clf")
    assert f1(other) == max(f1(t) for t in THRESHOLDS)


def test_when_corpora_grouped_then_each_lands_in_one_fold_and_the_holdout_stays_alone() -> None:
    corpora: dict[str, list[Example]] = {f"policy_more_{c}": [] for c in "abcdefg"}
    corpora["policy_holdout"] = []
    folds = grouped(corpora, groups=4)
    assert len(folds) == 4 and "policy_holdout" in folds
    members = [name for fold in folds for name in fold.split("+")]
    assert sorted(members) == sorted(corpora)
    assert len(grouped({"a": [], "b": []}, groups=8)) == 2


def test_when_trained_then_the_classifier_ranks_a_held_out_insult_above_small_talk() -> None:
    examples = _examples()
    x = matrix(examples, [])
    w = fit(x, np.array([float("harmful_content" in e.labels) for e in examples]))
    probe = [
        Example(_post(t), set(), "c", PolicySettings(), Analysis(ner_ran=False), set())
        for t in ("that useless idiot again", "nice weather this weekend")
    ]
    xp = matrix(probe, [])
    z = np.add.reduceat(w[:-1][xp.indices] * xp.data, xp.indptr[:-1])
    assert z[0] > z[1]


def test_when_ner_entities_added_then_features_are_unchanged() -> None:
    extractor = FeatureExtractor(PRACTICE, ["came", "today"])
    post = _post("Maria Lopez came in today, bed 4")
    room = Entity("ROOM_NUMBER", 27, 32, 0.7, "bed 4")
    cheap = Analysis(entities=(room,), ner_ran=False)
    person = Entity("PERSON", 0, 11, 0.85, "Maria Lopez")
    full = Analysis(entities=(person, room), ner_ran=True)
    assert extractor.vector(post, cheap, set()) == extractor.vector(post, full, set())
    tokens = extractor.normalized_tokens(post, full)
    assert tokens[:2] == ["<cap>", "<cap>"] and "<room_number>" in tokens


def test_when_policy_shown_then_learned_rules_are_listed_with_their_categories(
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[policy]\ndisabled_rules = ["harmful.learned"]\n', encoding="utf-8")
    result = CliRunner().invoke(
        cli, ["--config", str(config), "policy", "show", "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    rules = {r["id"]: r for r in json.loads(result.output)["rules"]}
    for cls in LEARNED_RULES:
        assert rules[cls.id]["category"] == str(cls.category)
    assert rules["harmful.learned"]["enabled"] is False
    assert rules["privacy.learned"]["enabled"] is True


def test_when_model_file_changes_then_the_policy_version_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    before = Policy.from_settings(PolicySettings()).version
    monkeypatch.setattr(policy_module, "learned_fingerprint", lambda: "another-model")
    assert Policy.from_settings(PolicySettings()).version != before


def test_when_learned_rule_fires_then_spans_never_come_from_ner_entities() -> None:
    always = CategoryModel(np.zeros(1 << 4, dtype=np.float32), 0.0, 0.0)
    model = LearnedModel(4, [], {"patient_privacy": always}, {})
    rule = LearnedPrivacy(PolicySettings(), model=model)
    post = _post("Maria Lopez was in bed 4 again")
    entities = (
        Entity("PERSON", 0, 11, 0.85, "Maria Lopez"),
        Entity("ROOM_NUMBER", 23, 28, 0.7, "bed 4"),
    )
    findings = rule.check(post, Analysis(entities=entities))
    assert [f.spans for f in findings] == [((23, 28),)]
    someone = Analysis(entities=(Entity("PERSON", 0, 3, 0.85, "Ann"),))
    assert rule.check(_post("Ann: nothing"), someone)[0].spans == ((0, 12),)


def test_when_no_identifier_remains_then_learned_privacy_stays_silent() -> None:
    always = CategoryModel(np.zeros(1 << 4, dtype=np.float32), 0.0, 0.0)
    rule = LearnedPrivacy(
        PolicySettings(), model=LearnedModel(4, [], {"patient_privacy": always}, {})
    )
    # POLICY.md: a patient with no identifier, or only allowlisted ones, is not identifiable.
    assert rule.check(_post("A patient came in today for her biopsy results"), Analysis()) == []
    assert rule.check(_post("The mayor's daughter came in today"), Analysis())
    # Fiction named outright: the patient in the story is nobody's PHI.
    story = _post("The Pitt ep 5, the mayor's daughter came in... I'm not crying you're crying")
    assert rule.check(story, Analysis()) == []


@pytest.mark.parametrize(
    "text",
    [
        "the guy with the snake tattoo came back for his STD results",
        "guess who came in today for a pregnancy test",
        "the Oakridge HS football coach had his MI today",
        "Coach Pam is recovering from her heart cath",
        "did a pap on someone I went to prom with",
        "counseled a lady on her HIV meds, she works the register at the Kroger",
        "the guy from the Shell station came in for his PSA results",
        "the old guy in 14 yanked his IV out again",
        "not saying who but a certain someone on the PTA failed her drug screen",
        # a position on a team, a campus role, a following online
        "iced the shortstop's elbow after practice, UCL looks sprained",
        "Prof. Whitcombe was in again for his blood pressure check",
        "the only goalie on the JV team is out with mono",
        "the skincare YouTuber with like 200k followers came in for her acne consult",
        "big thanks to #14 for staying calm while we set that wrist",
        # a home without a house number, a family at a place, a nickname in quotes
        "did the wound vac change at the blue house on Larch Rd, his heel is healing",
        "the Okafors on Birchwood asked us to up grandma's oxygen",
        "PT at the Maple Court apts, 3rd floor, hip still not weight bearing",
        "Had 'Tiny' from the tire shop in for his gout again",
        # a chair, a scanner, a colour, an age over 89, a photo with names readable
        "chair 6 needs her premeds before the Remicade",
        "[photo: the lab printer tray, patient names and DOBs on the labels] busy morning",
        "the man in CT 2 asked for his results before the scan was even done",
        "the lady in the green Subaru came back for her stitches",
        "my sweetest patient is 96 and still drives herself to dialysis",
    ],
)
def test_when_patient_is_singled_out_without_an_identifier_then_learned_privacy_may_fire(
    text: str,
) -> None:
    # POLICY.md: a relationship or a rare detail identifies a patient as surely as a name.
    always = CategoryModel(np.zeros(1 << 4, dtype=np.float32), 0.0, 0.0)
    rule = LearnedPrivacy(
        PolicySettings(), model=LearnedModel(4, [], {"patient_privacy": always}, {})
    )
    assert rule.check(_post(text), Analysis())


@pytest.mark.parametrize(
    ("role", "bio", "fires"),
    [
        ("front_desk", "Front desk @ Sunrise Family Medicine", False),
        ("marketing", "The official page of Sunrise Family Medicine", False),
        ("nurse", "RN at Sunrise Family Medicine. Views my own, not medical advice.", False),
        # a clinician still owes the disclaimer; an unnamed employer states no affiliation
        ("nurse", "RN at Sunrise Family Medicine", True),
        ("front_desk", "Opinions mine, not my employer's", True),
    ],
)
def test_when_the_bio_names_the_practice_then_learned_disclosure_asks_only_what_is_owed(
    role: str, bio: str, fires: bool
) -> None:
    # POLICY.md: the affiliation for everyone, the disclaimer for clinicians; the classifier
    # reads words, not which of them the author owes.
    always = CategoryModel(np.zeros(1 << 4, dtype=np.float32), 0.0, 0.0)
    model = LearnedModel(4, [], {"missing_disclosure": always}, {})
    rule = LearnedDisclosure(PolicySettings(practice_name="Sunrise Family Medicine"), model=model)
    post = _post(
        "Sunrise Family Medicine has the best docs in town!", author=Author("A", role, bio)
    )
    assert bool(rule.check(post, Analysis())) is fires


def test_when_practice_sets_a_learned_threshold_then_the_rule_fires_at_it() -> None:
    half = CategoryModel(np.zeros(1 << 4, dtype=np.float32), 0.0, 0.9)  # p = 0.5 everywhere
    model = LearnedModel(4, [], {"patient_privacy": half}, {})
    post = _post("The mayor's daughter came in today for her biopsy")
    assert LearnedPrivacy(PolicySettings(), model=model).check(post, Analysis()) == []
    recall_first = PolicySettings(learned_thresholds={"patient_privacy": 0.4})
    assert LearnedPrivacy(recall_first, model=model).check(post, Analysis())
    versions = {Policy.from_settings(s).version for s in (PolicySettings(), recall_first)}
    assert len(versions) == 2


@pytest.mark.parametrize(
    "text",
    [
        "Flu cases are up this week, get your shot",
        "Long shift, a patient thanked me today and I cried in the car",
        "Our manager approved the new schedule",
        "our #1 tip for flu season: wash your hands",
        "looking for apartments near the hospital, any leads?",
        "The only way to beat the flu is rest and fluids",
        "[photo: sunset over the parking lot] long day",
        "a patient in 2024 waited 40 minutes on average",
        "the nurse is 95 percent sure the printer is broken",
        # Tried and dropped: on fresh writers these opened the gate to more false alarms
        # than patients ("the dude who...", "my 3pm...", "the bánh mì place on Bayou Rd").
        "the guy who fixes our printers is a legend",
        "my 3pm cancelled so I finally ate lunch",
        "new taco place on Bayou Rd is elite",
    ],
)
def test_when_nobody_is_singled_out_then_learned_privacy_stays_silent(text: str) -> None:
    always = CategoryModel(np.zeros(1 << 4, dtype=np.float32), 0.0, 0.0)
    rule = LearnedPrivacy(
        PolicySettings(), model=LearnedModel(4, [], {"patient_privacy": always}, {})
    )
    assert rule.check(_post(text), Analysis()) == []


def test_when_learned_rules_disabled_then_only_hand_rules_run() -> None:
    ids = [cls.id for cls in LEARNED_RULES]
    policy = Policy.from_settings(PolicySettings(disabled_rules=ids))
    assert not {r.id for r in policy.rules} & set(ids)
    assert policy.version != Policy.from_settings(PolicySettings()).version


# -- detection fixes -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "entity", "value"),
    [
        ("pt's acct 556-22190 is past due", "ACCOUNT_NUMBER", "556-22190"),
        ("call her back at (555) 390-2281 about the biopsy", "PHONE_NUMBER", "(555) 390-2281"),
        ("Saw MARIA GONZALEZ this morning for her diabetes f/u", "PERSON", "MARIA GONZALEZ"),
    ],
)
def test_when_reported_identifier_forms_scanned_then_they_are_recognized(
    text: str, entity: str, value: str
) -> None:
    from monitor.policy.analyzer import PostAnalyzer

    analysis = PostAnalyzer(PolicySettings()).analyze([_post(text)])[0]
    assert (entity, value) in {(e.type, e.text) for e in analysis.entities}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Saw MARIA GONZALEZ this morning for a f/u", "Saw Maria Gonzalez this morning for a f/u"),
        ("ER STAT for the patient in bay two", "ER STAT for the patient in bay two"),
        ("OMG SO TIRED of this", "OMG SO TIRED of this"),
        ("ALL CAPS SHOUTING POST", "ALL CAPS SHOUTING POST"),
    ],
)
def test_when_capitals_recased_then_names_only_and_same_length(text: str, expected: str) -> None:
    assert recase_capitals(text) == expected
    assert len(recase_capitals(text)) == len(text)


# -- POLICY.md hard cases through the whole policy -----------------------------------------

HARD_CASES = [
    ("Flu cases are up this week, get your shot!", NURSE, Channel.PUBLIC, set()),
    (
        "My neighbour's son came in today with a broken wrist, poor kid",
        NURSE,
        Channel.PUBLIC,
        {"patient_privacy"},
    ),
    (
        "@jen sounds like strep, take the leftover amoxicillin",
        NURSE,
        Channel.COMMENT,
        {"medical_advice"},
    ),
    (
        "My idiot patient in room 3 has pressed the call bell 40 times for ice chips",
        NURSE,
        Channel.PUBLIC,
        {"patient_privacy", "harmful_content"},
    ),
    ("Long shift, exhausted.", NURSE, Channel.PUBLIC, set()),
    ("Finally got my own MRI results back, all clear for me!", FRONT_DESK, Channel.PUBLIC, set()),
    (
        "Call us at (555) 301-7700 to book your flu shot, walk-ins welcome",
        FRONT_DESK,
        Channel.PUBLIC,
        set(),
    ),
]


@pytest.mark.parametrize(("text", "author", "channel", "expected"), HARD_CASES)
def test_when_policy_hard_case_scanned_then_categories_match_policy(
    text: str, author: Author, channel: Channel, expected: set[str]
) -> None:
    found = categories(text, author, channel)
    assert expected <= found
    # The compliant cases must stay clean of the categories they are famous for.
    if not expected:
        assert not found & {"patient_privacy", "medical_advice"}, scan(text, author, channel)
