"""``missing_disclosure``: speaking for the practice, or advising as a clinician, undisclosed.

POLICY.md: promoting, praising or speaking for the practice (its services, staff, offers)
without stating the affiliation in the post or the profile bio; posting health guidance as a
clinician without a profile disclaimer that posts are not professional medical advice and that
opinions are the author's own. An account whose bio carries both is not flagged.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from typing import ClassVar

from monitor.config import PolicySettings
from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis
from monitor.policy.rules.advice import IndividualizedAdvice
from monitor.policy.rules.common import (
    Nearby,
    PolicyRule,
    Span,
    cue,
    is_clinician,
    linked,
    spans_of,
)
from monitor.policy.vocab import vocabulary

AFFILIATION = cue(
    "i work (?:at|for|with|in)",
    "i'?m (?:a|an|the) [\\w -]{1,40} (?:at|with|for)",
    "work(?:ing)? (?:at|for)",
    "employee",
    "#employee",
    "#emp",
    "staff (?:at|of|member)",
    "team member",
    "member of the (?:\\w+ )?team",
    "on the team at",
    "proud (?:to work|member)",
    "my employer",
    "i'?m employed",
    "employed (?:at|by)",
    "(?:works?|working) (?:at|for)",
    "disclosure:",
    "#ad",
    "#sponsored",
    "#partner",
    "(?:nurse|physician|doctor|dentist|"
    "hygienist|assistant|receptionist|manager|director|owner|founder|partner|coordinator|"
    "biller|specialist|np|pa|rn|md|ma) (?:at|@|with)",
    "(?:at|@) [A-Z][\\w&'. -]{2,40}(?:clinic|practice|health|medical|family|dental|pediatrics|"
    "care|associates|group|center|centre)",
    "my (?:coworkers|co-workers|colleagues|team|job|work|employer|workplace|boss)",
    "(?:years|months|weeks) (?:at|with)",
    "started (?:at|with)",
    "(?:work|working) here",
    "(?:our|my) (?:clinic|practice|office|team|staff|docs|doctors|nurses)",
    "we(?:'re| are| have|'ve)",
)
NOT_ADVICE = cue(
    "not (?:\\w+ (?:or|and|/) )?(?:medical|professional|clinical|therapy|therapeutic|"
    "health(?:care)?|legal|nursing|pharmacy|dental) advice",
    "not (?:medical|professional|clinical|health(?:care)?) advice",
    "not (?:a substitute for|intended as|meant as) (?:\\w+ ){0,3}advice",
    "no(?:t)? (?:medical|professional) advice",
    "nothing here is (?:medical )?advice",
    "educational (?:purposes )?only",
    "for information(?:al purposes)? only",
    "not (?:a )?(?:doctor|provider)-patient",
    "does not (?:constitute|create)",
    "consult your (?:own )?(?:doctor|provider|physician)",
    "#notmedicaladvice",
    "nma",
)
OWN_OPINIONS = cue(
    "(?:views|opinions|thoughts|tweets|posts) (?:are )?(?:my )?own",
    "(?:views|opinions) (?:expressed )?(?:are )?(?:mine|solely mine|my own)",
    "own views",
    "own opinions",
    "not (?:those of|the views of|representing|representative of) (?:my )?employer",
    "speak(?:ing)? only for myself",
    "rt(?:s)? (?:≠|!=|not|are not) endorse",
    "do not represent (?:my )?employer",
)

PROMOTION = cue(
    "\\w+est",
    "most \\w+",
    "book",
    "try (?:it|them|us)",
    "tell your friends",
    "takes (?:walk-?ins|most insurance|insurance)",
    "walk-?ins",
    "hours",
    "openings",
    "offers?",
    "launched",
    "slick",
    "\\$\\d+",
    "beats",
    "stop paying",
    "accepting",
    "highly",
    "great",
    "outstanding",
    "caring",
    "friendly",
    "kind",
    "top",
    "hands down",
    "go (?:see|to)",
    "come (?:by|in|see)",
    "no appt needed",
    "best",
    "amazing",
    "awesome",
    "incredible",
    "fantastic",
    "wonderful",
    "excellent",
    "great",
    "love",
    "loved",
    "highly recommend",
    "recommend",
    "5 stars?",
    "five stars?",
    "top-?notch",
    "world-?class",
    "go-?to",
    "book (?:now|today|your|an?|online)",
    "schedule (?:your|an?|today)",
    "call (?:us|today|now)",
    "new patients",
    "accepting",
    "now offering",
    "offering",
    "special",
    "deal",
    "discount",
    "% off",
    "percent off",
    "free (?:consult|consultation|exam|screening|whitening)",
    "promo",
    "limited time",
    "check (?:us|them|it) out",
    "come see",
    "come visit",
    "stop by",
    "don'?t miss",
    "trust",
    "lucky to have",
    "shout-?out",
    "shoutout",
    "kudos",
    "proud",
    "thank you",
    "thanks",
    "grateful",
    "can'?t say enough",
    "in good hands",
    "the place to go",
    "dm (?:us|me)",
    "link in bio",
    "sign up",
    "walk-?ins welcome",
    "open (?:late|saturdays?)",
    "same-?day",
    "voted",
    "award",
    "team is",
    "staff is",
    "care team",
    "#\\w+",
)
GUIDANCE = cue(
    "tips?",
    "reminder",
    "remember to",
    "make sure (?:to|you)",
    "don'?t forget",
    "don'?t skip",
    "don'?t ignore",
    "you should",
    "everyone should",
    "should (?:get|be|avoid|take|try|stop|start)",
    "(?:please|pls) (?:get|take|wear|wash|check|drink|stay|avoid|call)",
    "get (?:your|a|an|the) (?:\\w+ )?(?:shot|vaccine|booster|screening|checkup|check-up|"
    "mammogram|colonoscopy|test)",
    "is the best way to",
    "best way to",
    "(?:the|my) advice",
    "pro tip",
    "psa",
    "friendly reminder",
    "myth",
    "fact:",
    "did you know",
    "here'?s (?:how|what|why)",
    "(?:how|ways) to (?:prevent|avoid|treat|manage|reduce|lower|improve)",
    "can help",
    "helps (?:prevent|reduce|lower)",
    "(?:is|are) (?:safe|unsafe|dangerous|effective)",
    "avoid",
    "try",
    "drink",
    "wear",
    "wash your",
    "stay hydrated",
    "limit",
    "cut back",
    "aim for",
    "at least \\d+",
    "\\d+ ?(?:mg|mcg|iu|units|minutes|mins|hours|times) (?:a|per|of|every)",
    "never",
    "always",
    "ask your (?:doctor|provider|pharmacist|dentist)",
    "talk to your",
    "symptoms? (?:of|include|like)",
    "signs? of",
    "warning signs",
    "red flags",
)


# Everyday health topics the clinical vocabulary leaves out (prevention, wellness).
HEALTH = cue(
    "hydrate",
    "hydrated",
    "hydration",
    "water",
    "fluids",
    "sunscreen",
    "spf",
    "supplements?",
    "vitamins?",
    "probiotics?",
    "nsaids?",
    "dizzy(?: spells)?",
    "mole",
    "moles",
    "colic",
    "salt",
    "sodium",
    "sugar",
    "diet",
    "exercise",
    "sleep",
    "fever",
    "fevers",
    "symptoms?",
    "colds?",
    "flu season",
    "germs",
    "hand ?washing",
    "wash your hands",
    "screening",
    "breathing",
    "stress",
    "mental health",
    "weight",
    "calories",
    "smoking",
    "vaping",
    "alcohol",
    "z-?paks?",
    "tylenol",
    "ibuprofen",
    "advil",
    "motrin",
    "naproxen",
)
# An instruction opening a sentence ("Hydrate!", "Space them 2 hrs apart", "Don't take ...").
IMPERATIVE = re.compile(
    r"(?im)(?:^|[.!?:]\s+|\n)\s*(?:please\s+)?(?:hydrate|drink|wear|use|take|get|avoid|stop|"
    r"start|try|wash|eat|sleep|rest|call|check|space|pick|don'?t|do not|always|remember|"
    r"skip|cut|walk|ask|talk|save|limit|keep|put|apply|ice|watch|book|schedule)\b"
    r"|\bnever (?:take|mix|give|skip|use|ignore|share)\b"
    r"|\bshould (?:get|be seen|take|have|see|use|avoid|start|stop|wear|drink|eat)\b"
    r"|\s=\s|\b(?:don'?t|doesn'?t|do not|does not|won'?t) (?:treat|prevent|work|cure|help)\b"
    r"|\b\d+\s?(?:l|ml|mg|min|minutes|hrs|hours)\s+(?:a|per)\s+day\b|\bevery day\b"
)


# How close a misspelling must be to the practice name (difflib ratio).
FUZZY_RATIO = 0.88


class UndisclosedAffiliation(PolicyRule):
    """Promoting the practice without saying you work there."""

    id: ClassVar[str] = "disclosure.undisclosed_affiliation"
    category: ClassVar[Category] = Category.MISSING_DISCLOSURE
    severity: ClassVar[Severity] = Severity.MEDIUM
    explanation: ClassVar[str] = (
        "Promotes or speaks for the practice without stating the affiliation"
    )

    def __init__(self, settings: PolicySettings) -> None:
        super().__init__(settings)
        names = [n.strip() for n in [settings.practice_name, *settings.practice_aliases]]
        names = [n for n in names if n]
        self._practice: re.Pattern[str] | None = (
            re.compile(
                r"(?<![\w])(?:"
                + "|".join(
                    re.escape(n).replace(r"\ ", r"[\s_-]*")
                    for n in sorted(names, key=len, reverse=True)
                )
                + r")(?![\w])",
                re.IGNORECASE,
            )
            if names
            else None
        )
        self._names = names
        # Handles and hashtags spell the name without spaces ("@SunriseFamilyMed").
        self._squashed = [re.sub(r"\W", "", n).lower() for n in names]

    def practice_spans(self, text: str) -> list[Span]:
        spans = spans_of(self._practice, text) if self._practice else []
        spans += self._fuzzy(text)
        for m in re.finditer(r"[@#]\w{4,}", text):
            tag = m.group()[1:].lower()
            if any(s and (s in tag or tag in s) and len(tag) >= 5 for s in self._squashed):
                spans.append((m.start(), m.end()))
        return spans

    def _fuzzy(self, text: str) -> list[Span]:
        """Misspelt practice names ("Riversdie FM", "Riverside Famly Med")."""
        tokens = [(m.group().lower(), m.start(), m.end()) for m in re.finditer(r"[\w&]+", text)]
        found: list[Span] = []
        for name in self._names:
            target = name.lower()
            n = len(target.split())
            if len(name) < 8 or n < 2:
                continue
            matcher = SequenceMatcher(None, b=target)
            for i in range(len(tokens) - n + 1):
                if tokens[i][0][0] != target[0]:
                    continue
                window = tokens[i : i + n]
                candidate = re.sub(r"(?:'s|s)$", "", " ".join(t[0] for t in window))
                matcher.set_seq1(candidate)
                # real_quick_ratio and quick_ratio bound ratio from above: same answer, cheaper.
                if (
                    matcher.real_quick_ratio() >= FUZZY_RATIO
                    and matcher.quick_ratio() >= FUZZY_RATIO
                    and matcher.ratio() >= FUZZY_RATIO
                ):
                    found.append((window[0][1], window[-1][2]))
        return found

    def disclosed(self, post: PostContext) -> bool:
        bio = post.author.bio
        if AFFILIATION.search(post.text) or AFFILIATION.search(bio):
            return True
        # Naming the practice in the bio ("RN | Sunrise Family Medicine") states the tie.
        return bool(self.practice_spans(bio))

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        mentions = self.practice_spans(post.text)
        if not mentions:
            return []
        promos = spans_of(PROMOTION, post.text)
        if not promos or self.disclosed(post):
            return []
        near_mention = Nearby(mentions, 200)
        return [self.finding(mentions + [p for p in promos if near_mention(p)])]


class ClinicianAdviceWithoutDisclaimer(PolicyRule):
    """A clinician posting health guidance with no "not medical advice / my own views" bio."""

    id: ClassVar[str] = "disclosure.clinician_without_disclaimer"
    category: ClassVar[Category] = Category.MISSING_DISCLOSURE
    severity: ClassVar[Severity] = Severity.MEDIUM
    explanation: ClassVar[str] = (
        "Clinician posts health guidance without a not-medical-advice / own-opinions disclaimer"
    )

    def __init__(self, settings: PolicySettings) -> None:
        super().__init__(settings)
        self._advice = IndividualizedAdvice(settings)

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        if not is_clinician(post.author):
            return []
        bio = post.author.bio
        if NOT_ADVICE.search(bio) and OWN_OPINIONS.search(bio):
            return []
        advice = self._advice.check(post, analysis)
        if advice:
            return [self.finding(advice[0].spans)]
        text = post.text
        care = [(c.start, c.end) for c in vocabulary().find(text)] + spans_of(HEALTH, text)
        if not care:
            return []
        guidance = spans_of(GUIDANCE, text) + spans_of(IMPERATIVE, text)
        spans = linked(guidance, care, 120)
        return [self.finding(spans)] if spans else []
