"""What every rule shares: the settings-aware base class and small text cues.

Rules are pure: they read a post, its analysis and the practice's policy settings, and return
findings. Cues here are structural (who is addressed, who is speaking, whose health it is), so
that rules generalize beyond the wording of any example.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import ClassVar

from monitor.config import PolicySettings
from monitor.domain import CLINICAL_ROLES, Author, Channel, Finding, PostContext, Role
from monitor.policy.base import Analysis, Rule

Span = tuple[int, int]


class PolicyRule(Rule):
    """A rule configured with the practice's ``[policy]`` settings.

    ``needs_ner`` defaults to False: only rules that read PERSON or LOCATION entities override
    it, so the scanner can skip the costly NER for most posts.
    """

    explanation: ClassVar[str]

    def __init__(self, settings: PolicySettings) -> None:
        self.settings = settings

    def needs_ner(self, post: PostContext, analysis: Analysis) -> bool:
        return False

    def finding(self, spans: Iterable[Span], explanation: str | None = None) -> Finding:
        """A finding of this rule over ``spans`` (merged, sorted), with the rule's severity."""
        return Finding(
            category=self.category,
            severity=self.severity,
            rule=self.id,
            spans=merge_spans(spans),
            explanation=explanation or self.explanation,
        )


def practice_pattern(settings: PolicySettings) -> re.Pattern[str] | None:
    """The practice's name and aliases, case-insensitive, spaces/underscores/hyphens optional."""
    names = [n.strip() for n in [settings.practice_name, *settings.practice_aliases] if n.strip()]
    if not names:
        return None
    body = "|".join(
        re.escape(n).replace(r"\ ", r"[\s_-]*") for n in sorted(names, key=len, reverse=True)
    )
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])", re.IGNORECASE)


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Sorted spans with overlapping or touching ones merged."""
    out: list[list[int]] = []
    for start, end in sorted(spans):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return tuple((s, e) for s, e in out)


def cue(*phrases: str) -> re.Pattern[str]:
    """A case-insensitive pattern matching any phrase on word boundaries.

    Phrases are regular expressions; spaces match any run of whitespace.
    """
    body = "|".join(p.replace(" ", r"\s+") for p in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<![\w@#])(?:{body})(?![\w])", re.IGNORECASE)


# Television and fiction named outright: the patient in the story is nobody's PHI. ("novel",
# "movie" and "the show" also occur in posts about real patients: the hand rule alone reads them.)
FICTION = cue(
    "ep(?:isode)? ?\\d+",
    "season \\d+",
    "tv show",
    "on tv",
    "grey'?s anatomy",
    "the pitt",
    "the good doctor",
    "\\bshe'?s fictional",
)


def spans_of(pattern: re.Pattern[str], text: str) -> list[Span]:
    return [(m.start(), m.end()) for m in pattern.finditer(text)]


def near(a: Span, b: Span, distance: int) -> bool:
    """Whether two spans are within ``distance`` characters of each other."""
    return a[0] - distance <= b[1] and b[0] - distance <= a[1]


def near_any(span: Span, others: Sequence[Span], distance: int) -> bool:
    return any(near(span, o, distance) for o in others)


class Nearby:
    """Whether a span lies within ``distance`` characters of any of ``others``, in log time:
    a long post with thousands of identifiers must not cost identifiers x contexts."""

    def __init__(self, others: Iterable[Span], distance: int) -> None:
        ordered = sorted(others)
        self._starts = [start for start, _ in ordered]
        self._reach = list(itertools.accumulate((end for _, end in ordered), max))
        self._distance = distance

    def __call__(self, span: Span) -> bool:
        # The others starting early enough; of those, the furthest end must reach back to span.
        k = bisect.bisect_right(self._starts, span[1] + self._distance)
        return k > 0 and self._reach[k - 1] >= span[0] - self._distance


def linked(triggers: Sequence[Span], contexts: Sequence[Span], distance: int) -> list[Span]:
    """The triggers near a context, then the contexts near one of those (empty if none)."""
    close = Nearby(contexts, distance)
    hits = [t for t in triggers if close(t)]
    if not hits:
        return []
    back = Nearby(hits, distance)
    return hits + [c for c in contexts if back(c)]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentence_spans(text: str) -> list[Span]:
    """Rough sentence spans (enough to keep a cue and its object together)."""
    spans: list[Span] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.start() > start:
            spans.append((start, m.start()))
        start = m.end()
    if start < len(text):
        spans.append((start, len(text)))
    return spans


_CREDENTIALS = re.compile(
    r"(?<![\w])(?:MD|M\.D\.|DO|D\.O\.|RN|BSN|MSN|LPN|LVN|NP|FNP|FNP-C|APRN|CRNA|PA|PA-C|DNP|"
    r"DDS|DMD|PharmD|RPh|LCSW|LPC|LMFT|PsyD|PhD|PT|DPT|OT|OTR|RT|RRT|CNA|CNM|MA|RD|RDN|DC)"
    r"(?![\w])"
)
_CLINICAL_BIO = cue(
    "nurse",
    "physician",
    "doctor",
    "dr",
    "surgeon",
    "dentist",
    "pharmacist",
    "therapist",
    "psychologist",
    "psychiatrist",
    "pediatrician",
    "paediatrician",
    "dermatologist",
    "cardiologist",
    "hygienist",
    "midwife",
    "paramedic",
    "emt",
    "clinician",
    "practitioner",
    "resident physician",
    "medical resident",
    "hospitalist",
    "internist",
    "ob-?gyn",
    "provider",
    "optometrist",
    "chiropractor",
    "dietitian",
    "counselor",
    "counsellor",
    "np",
    "rn",
)


def is_clinician(author: Author) -> bool:
    """Whether the author writes as a clinician: by staff role, or credentials in the bio."""
    role = author.role.strip().lower()
    if role in {r.value for r in CLINICAL_ROLES}:
        return True
    if role and role in {r.value for r in Role} and role not in {"other", ""}:
        return False  # a known non-clinical role is not overridden by the bio
    return bool(_CREDENTIALS.search(author.bio) or _CLINICAL_BIO.search(author.bio))


def is_private_channel(post: PostContext) -> bool:
    return post.channel in (Channel.DIRECT, Channel.GROUP)


def is_reply(post: PostContext) -> bool:
    return post.channel in (Channel.COMMENT, Channel.DIRECT)


_MENTION = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,}")
_VOCATIVE = re.compile(r"^\s*(?:hi|hey|hello|dear)?\s*[A-Z][a-z]+\s*[,—]")
_VOCATIVE_END = re.compile(r",\s*(?:hun|dear|friend\s+)?[A-Z][a-z]+\s*(?=[.!?]|$)")


def addressee_spans(text: str) -> list[Span]:
    """@mentions, and a name opening the post as a vocative ("Jen, ...")."""
    spans = spans_of(_MENTION, text)
    m = _VOCATIVE.match(text)
    if m:
        spans.append((m.start(), m.end()))
    spans += spans_of(_VOCATIVE_END, text)
    return spans


SECOND_PERSON = cue("you", "your", "you're", "youre", "u", "ur", "yours", "yourself")
FIRST_PERSON = cue("i", "i'm", "im", "i've", "i'd", "i'll", "me", "my", "mine", "myself")


class CueRule(PolicyRule):
    """A rule that fires on a trigger phrase with a supporting context phrase nearby.

    ``trigger`` finds the evidence; ``context`` (if set) must match within ``window``
    characters of a trigger; ``unless`` (if set) anywhere in the post clears it (e.g. a public
    announcement). Subclasses set the patterns; the table of cases lives in the tests.
    """

    trigger: ClassVar[re.Pattern[str]]
    context: ClassVar[re.Pattern[str] | None] = None
    window: ClassVar[int] = 80
    unless: ClassVar[re.Pattern[str] | None] = None
    # Whether a mention of the practice (name or alias) counts as context.
    practice_is_context: ClassVar[bool] = False

    def __init__(self, settings: PolicySettings) -> None:
        super().__init__(settings)
        self._practice = practice_pattern(settings)

    def evidence(self, post: PostContext, analysis: Analysis) -> list[Span]:
        text = post.text
        if self.unless is not None and self.unless.search(text):
            return []
        triggers = spans_of(self.trigger, text)
        if not triggers:
            return []
        if self.context is None:
            return triggers
        contexts = spans_of(self.context, text)
        if self.practice_is_context and self._practice is not None:
            contexts += spans_of(self._practice, text)
        return linked(triggers, contexts, self.window)

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        spans = self.evidence(post, analysis)
        return [self.finding(spans)] if spans else []


# "the mayor's daughter", "my neighbour's son": a relationship points at one person.
RELATION = re.compile(
    r"(?i)\b(?:\w+'s|my|our|his|her|their|your)\s+(?:\w+\s+)?(?:son|daughter|wife|husband|"
    r"mom|mother|dad|father|brother|sister|kid|baby|grand(?:ma|pa|mother|father|son|daughter)|"
    r"uncle|aunt|cousin|nephew|niece|neighbou?r|boss|coworker|partner|girlfriend|boyfriend|"
    r"fianc[eé]e?|in-laws?|twins?)\b"
)


# POLICY.md's quasi-identifiers that no recognizer can tag: a person singled out by a public
# role, a striking feature, a shared past or a wink at readers who know them ("the mayor",
# "the guy with the snake tattoo", "someone I went to prom with", "you know who you are").
_ROLE = (
    r"mayor|pastor|priest|rabbi|imam|reverend|preacher|deacon|coach|principal|teacher|judge|"
    r"sheriff|deputy|weather\s?(?:man|woman|guy|lady)|news\s?anchor|anchor|"
    r"council(?:man|woman|member|or)|treasurer|superintendent|owner|"
    r"cheerleader|quarterback|linebacker|pitcher|goalie|captain|firefighter|fireman|cop|"
    r"trooper|librarian|mail\s?(?:man|carrier)|bartender|barista|cashier|lawyer|"
    r"realtor|senator|congress(?:man|woman)|celebrity|influencer|youtuber|streamer|dj|"
    r"valedictorian|prom\s+(?:king|queen)|homecoming\s+(?:king|queen)|"
    # a position on a team, a role on a campus, a following online: one person to readers who know
    r"kicker|punter|qb|lineman|[od]-?line(?:man)?|wide\s+receiver|running\s+back|tight\s+end|"
    r"point\s+guard|shooting\s+guard|power\s+forward|shortstop|catcher|goalkeeper|striker|setter|"
    r"libero|diver|wrestler|gymnast|coxswain|mascot|drum\s+major|prof\.?|professor|dean|provost|"
    r"chancellor|student\s+body\s+president|tiktoker|podcaster|blogger"
)
_PEOPLE = (
    r"guy|man|lady|woman|girl|boy|kid|dude|gentleman|fella|family|couple|twins?|mom|dad|"
    r"grandma|grandpa|teen|pt|patient|trucker|hairdresser|farmer|mechanic|waitress|waiter|"
    r"teller|nurse|one"
)
_OVER_89 = (
    r"(?:is|was|turned|turns|just\s+turned)\s+(?:9\d|1[01]\d)\b"
    r"(?!\s*(?:%|percent|degrees|°|lbs?|pounds|min|kg|mg))"
)
SINGLED_OUT = re.compile(
    r"(?i)(?:\b(?:"
    rf"(?:the|our|my|your)\s+(?:[\w'’&-]+\s+){{0,3}}?(?:{_ROLE})s?"
    rf"|(?:{_ROLE})\s+(?-i:[A-Z][a-z]+)"
    r"|(?:she|he)\s+(?:works|worked)\s+(?:the|at|as|for)"
    r"|\bwho(?:se)?\s+(?:works|lives|owns|runs|teaches|coaches|drives|husband|wife|dad|mom|"
    r"son|daughter|kid|boyfriend|girlfriend)\b"
    r"|(?:guy|man|lady|woman|girl|boy|kid|dude|pt|patient|mom|dad|gentleman|fella|teen)\s+"
    r"(?:with|w/|in)\s+(?:the|a|an|that|his|her)\s+(?:\w+\s+){0,3}?(?:tattoos?|tats?|"
    r"mohawk|hair|beard|mustache|piercings?|sticker|truck|tesla|jeep|car|van|parrot|dog|"
    r"accent|scar|limp|wheelchair|scooter|walker|cowboy\s+hat|hat|scrubs|uniform|jacket)"
    r"|(?:went|go|going)\s+to\s+(?:high\s+)?(?:school|prom|college)\s+with"
    r"|my\s+(?:old\s+|former\s+)?(?:high\s+school\s+|hs\s+|college\s+)?(?:ex|crush|"
    r"prom\s+date|classmate|teacher|coach|principal|softball\s+coach|landlord|boss)\b"
    r"|ex['’]s\s+(?:new\s+)?\w+"
    r"|you\s+know\s+who\s+you\s+are|guess\s+wh(?:o|ich)|small\s+(?:town|world)|"
    r"won['’]?t\s+(?:say|name)\s+(?:names|who)|no\s+names|not\s+naming\s+names|"
    r"everyone\s+knows\s+(?:who|your|her|his)|if\s+you\s+know\s+you\s+know|iykyk|"
    r"not\s+(?:saying|gonna\s+say|going\s+to\s+say|naming)\s+(?:who|names)|"
    r"a\s+certain\s+(?:someone|somebody|\w+)|"
    r"(?:y['’]?all|you\s+all|u\s+all|everyone|we\s+all)\s+know\s+wh(?:o|at)"
    # "the guy from the Shell station"
    rf"|(?:{_PEOPLE}|{_ROLE}|(?-i:[A-Z][a-z]+))\s+(?:from|at)\s+(?:the\s+)?(?:[\w'’&-]+\s+){{0,2}}?"
    r"(?:(?-i:[A-Z])\w*|co-?op|station|store|shop|plant|mill|bank|church|salon|diner|bar|pier|"
    r"gym|pharmacy|clinic\s+next\s+door|next\s+door|drive\s+thru|market|farm|school)"
    # A person word, then what singles them out (one branch, so the words are tried once):
    # "the lady who comes in every tuesday"; "the old guy in 14", "the twins in 4A and 4B",
    # "the lady in MRI 1" (a bed, a bay or a scanner by its number alone); "the woman in the
    # red Tahoe" (a colour makes anything a description of one person); "my favorite patient
    # is 97" (an age over 89, an identifier in HIPAA's Safe Harbor list)
    rf"|(?:{_PEOPLE})\s+(?:who\s+(?:comes|came|got|brings|brought|always|lives|works|owns|"
    r"runs|drives|sings|coaches|teaches|was\s+on|was\s+in\s+the\s+news)"
    r"|in\s+(?:[A-Za-z]{2,10}\s?)?\d{1,3}[A-Z]?\b"
    r"|(?:in|with|w/)\s+(?:the|a|an|that|his|her)\s+(?:red|blue|black|white|silver|green|"
    r"yellow|pink|purple|orange|gr[ae]y|gold|neon|bright)\s+\w+"
    rf"|{_OVER_89})"
    rf"|(?:she|he|client|resident)\s+{_OVER_89}"
    rf"|(?:a|an)\s+local\s+(?:\w+\s+)?(?:{_ROLE}|{_PEOPLE})|(?:police|fire)\s+chief"
    r"|name\s+(?:is\s+(?:literally\s+)?(?-i:[A-Z])\w*|on\s+the\s+(?:tube|band|label|chart|"
    r"bottle|screen|board|film|sticker|wristband|bracelet))"
    # the only one of a kind: "the only diver on our women's team"
    r"|the\s+only\s+\w+(?:\s+\w+)?\s+(?:on|in|at|from|who|with)"
    r"|with\s+(?:like\s+|over\s+)?\d+(?:\.\d)?\s*[km]\s+followers"
    # a jersey number: "shoutout to #23", "#12 on the O-line"
    r"|(?:shout\s?out\s+to|to|for)\s+#\d{1,2}|#\d{1,2}\s+(?:for|on|who)"
    # a nickname in quotes: "mr 'i was a marine'" (and "'Big Country' from the feed store")
    r"|(?:mr|mrs|ms|miss|mister|sir)\.?\s+['\"‘“]\w"
    # a family by its surname at a place: "the Nguyens on Poplar"
    r"|(?-i:the\s+[A-Z][a-z]+s\s+(?:on|at|in|from|over\s+on|up\s+on|out\s+on)\s+[A-Z]\w*)"
    # a home by its look or its complex: "the yellow house past the church", "pine knoll apts"
    r"|(?:at|in|from)\s+(?:the\s+)?(?:[\w'’-]+\s+){1,2}(?:apts?|apartments|trailer\s+park|"
    r"mobile\s+home\s+park)"
    r"|the\s+(?:yellow|blue|red|green|white|pink|purple|brick|gray|grey)\s+(?:house|trailer|duplex)"
    # a suite, a chair or a station, like a room or a bed: "chair 4", "cuarto 2"
    r"|(?:suites?|chair|station|cuarto|kwarto|cama|kama)\s*#?\s*\d{1,3}"
    r")\b"
    # (these start with a quote or a bracket, so no word boundary before them)
    r"|['\"‘“][^'\"’”\n]{2,30}['\"’”]\s+(?:from\s+(?:the\s+)?\w|"
    r"(?:at|over\s+at|down\s+at)\s+(?:the\s+)?(?-i:[A-Z]))"
    # a described photo with names, birth dates or faces readable
    r"|[\[(]\s*(?:photo|image|pic|picture|screenshot|video|img)\b[^\])\n]{0,160}?\b(?:names?|dobs?|"
    r"birth\s?dates?|addresses|faces?)\b"
    r")"
)


@lru_cache(maxsize=64)
def singles_out(text: str) -> bool:
    """Whether ``text`` singles someone out (``SINGLED_OUT``), remembered for the few posts in
    flight: the features and the privacy gate both ask, and it is the costliest pattern
    (about 0.3 ms a post; one search per alternative costs more still)."""
    return SINGLED_OUT.search(text) is not None
