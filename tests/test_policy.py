"""The Policy object: registry, configuration, versioning and the NER gate."""

from __future__ import annotations

import re

import pytest

from monitor.config import ConfigError, PolicySettings
from monitor.domain import Author, Category, PostContext, Severity
from monitor.policy.base import Analysis, Entity
from monitor.policy.policy import Policy
from monitor.policy.rules.registry import _ALL, RULES
from monitor.policy.vocab import vocabulary

PRIVACY = "privacy.identifier_with_care_context"
NURSE = Author("Maya Torres", "nurse", "RN")


def _post(text: str) -> PostContext:
    return PostContext(id="p", text=text, author=NURSE)


def test_when_registry_built_then_every_rule_has_a_unique_id_and_its_category_prefix() -> None:
    assert len(RULES) == len(_ALL)
    prefixes = {
        Category.PATIENT_PRIVACY: "privacy.",
        Category.CONFIDENTIAL_INFO: "confidential.",
        Category.MISSING_DISCLOSURE: "disclosure.",
        Category.HARMFUL_CONTENT: "harmful.",
        Category.MEDICAL_ADVICE: "advice.",
    }
    for rule_id, cls in RULES.items():
        assert rule_id == cls.id
        assert rule_id.startswith(prefixes[cls.category])
        assert cls.explanation and "\n" not in cls.explanation
    assert {cls.category for cls in RULES.values()} == set(Category)


def test_when_rule_disabled_then_it_is_off_and_not_evaluated() -> None:
    policy = Policy.from_settings(PolicySettings(disabled_rules=["harmful.threat"]))
    assert "harmful.threat" not in {r.id for r in policy.rules}
    state = {s.id: s for s in policy.states}["harmful.threat"]
    assert state.enabled is False
    findings = policy.evaluate(_post("I will key your car next time."), Analysis())
    assert "harmful.threat" not in {f.rule for f in findings}


@pytest.mark.parametrize("field", ["disabled_rules", "severity_overrides"])
def test_when_settings_name_an_unknown_rule_then_config_error_names_the_key(field: str) -> None:
    value: object = ["harmful.nope"] if field == "disabled_rules" else {"harmful.nope": "low"}
    settings = PolicySettings.model_validate({field: value})
    with pytest.raises(ConfigError) as exc:
        Policy.from_settings(settings)
    assert f"policy.{field}" in str(exc.value)
    assert "harmful.nope" in str(exc.value)


def test_when_severity_overridden_then_findings_carry_it() -> None:
    policy = Policy.from_settings(PolicySettings(severity_overrides={"harmful.threat": "low"}))
    [finding] = policy.evaluate(_post("I will key your car next time."), Analysis())
    assert finding.rule == "harmful.threat"
    assert finding.severity is Severity.LOW
    assert finding.excerpt == ""


def test_when_settings_equal_then_version_is_stable_and_changes_with_any_setting() -> None:
    base = Policy.from_settings(PolicySettings()).version
    assert base == Policy.from_settings(PolicySettings()).version
    assert re.fullmatch(r"\d{4}\.\d+\.\d+\+[0-9a-f]{12}", base)
    changed = [
        PolicySettings(disabled_rules=["harmful.threat"]),
        PolicySettings(severity_overrides={"harmful.threat": "low"}),
        PolicySettings(allow_names=["Maya Torres"]),
        PolicySettings(confidential_terms=["Bluebird"]),
        PolicySettings(practice_aliases=["SFM"]),
    ]
    versions = {Policy.from_settings(s).version for s in changed}
    assert base not in versions and len(versions) == len(changed)


def test_when_no_care_context_then_no_rule_needs_ner() -> None:
    policy = Policy.from_settings(PolicySettings())
    assert policy.needs_ner(_post("Spurs win!! What a game"), Analysis(ner_ran=False)) is False


def test_when_only_a_name_could_decide_privacy_then_ner_is_needed() -> None:
    policy = Policy.from_settings(PolicySettings())
    post = _post("Jessica Moore came in for her biopsy results")
    assert policy.needs_ner(post, Analysis(ner_ran=False)) is True


def test_when_a_pattern_identifier_already_decides_then_ner_is_not_needed() -> None:
    policy = Policy.from_settings(PolicySettings())
    text = "Pull MRN 00482917 for Jessica Moore, her biopsy results are in"
    start = text.index("00482917")
    cheap = Analysis(
        entities=(Entity("MEDICAL_RECORD_NUMBER", start, start + 8, 0.85, "00482917"),),
        ner_ran=False,
    )
    post = _post(text)
    assert policy.needs_ner(post, cheap) is False
    assert PRIVACY in {f.rule for f in policy.evaluate(post, cheap)}


def test_when_words_are_inflected_then_vocabulary_finds_their_stem() -> None:
    terms = {t.text.lower(): t.kind for t in vocabulary().find("detoxing after a biopsy")}
    assert "detoxing" in terms and "biopsy" in terms
    assert vocabulary().find("or maybe ed will come") == []
    assert [t.text for t in vocabulary().find("sent to the ED")] == ["ED"]
