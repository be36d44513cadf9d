"""Every built-in rule, keyed by its id: the one place a rule is registered."""

from __future__ import annotations

from monitor.policy.rules import advice, confidential, disclosure, harmful, learned, privacy
from monitor.policy.rules.common import PolicyRule

_ALL: list[type[PolicyRule]] = [
    privacy.IdentifierWithCareContext,
    confidential.Credentials,
    confidential.InternalFinances,
    confidential.UnreleasedPlans,
    confidential.PersonnelMatters,
    confidential.SecurityIncident,
    confidential.LegalMatters,
    confidential.InternalScreenshot,
    confidential.PracticeTerms,
    disclosure.UndisclosedAffiliation,
    disclosure.ClinicianAdviceWithoutDisclaimer,
    harmful.InsultOrMockery,
    harmful.Threat,
    harmful.Discrimination,
    harmful.UnsafeConduct,
    harmful.WorkplaceGossip,
    advice.IndividualizedAdvice,
    # The shipped classifiers (monitor/policy/learned.py), after the hand rules they read.
    *learned.LEARNED_RULES,
]

RULES: dict[str, type[PolicyRule]] = {cls.id: cls for cls in _ALL}

if len(RULES) != len(_ALL):  # pragma: no cover - caught by the registry test
    raise RuntimeError("two rules share an id")
