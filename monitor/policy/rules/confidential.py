"""``confidential_info``: the practice's confidential or proprietary information.

POLICY.md: internal finances, billing codes or payer contracts tied to the practice, passwords
and access details, screenshots of internal systems, unreleased plans (mergers, layoffs, new
locations before announcement), staff personnel matters (someone's discipline, salary,
termination), security incidents, legal matters — even in private channels. Not: what the
practice itself has announced publicly.

Each family is one rule: a trigger (what the information is) with a context nearby (that it is
the practice's, or that it is not public), so a general remark on the topic does not fire.
"""

from __future__ import annotations

import re
from typing import ClassVar

from monitor.config import PolicySettings
from monitor.domain import Category, Finding, PostContext, Severity
from monitor.policy.base import Analysis
from monitor.policy.rules.common import FIRST_PERSON, CueRule, PolicyRule, Span, cue, spans_of

# The practice's own public voice: what it announced is not confidential.
ANNOUNCED = cue(
    "(?:we(?:'re| are)|i'm|i am) (?:so )?(?:excited|thrilled|proud|happy|pleased) to "
    "(?:announce|share|welcome)",
    "officially (?:announced|open|opening)",
    "grand opening",
    "now open",
    "press release",
    "as announced",
    "publicly announced",
    "announced (?:today|this week|yesterday)",
    "see the announcement",
    "per the announcement",
)
# "Ours": the practice, its staff or its people.
OURS = cue(
    "we",
    "we're",
    "we've",
    "our",
    "ours",
    "us",
    "the practice",
    "the clinic",
    "the office",
    "the hospital",
    "the company",
    "the group",
    "management",
    "mgmt",
    "admin",
    "leadership",
    "corporate",
    "the owners?",
    "the partners",
    "the board",
    "the ceo",
    "the cfo",
    "my work",
    "at work",
    "this place",
    "my job",
    "my employer",
    "the unit",
    "our unit",
)
SECRET = cue(
    "don'?t tell",
    "do not tell",
    "not announced",
    "hasn'?t been announced",
    "not public",
    "not official",
    "before (?:it'?s|its|it is) (?:official|announced|public)",
    "keep (?:this|it) (?:quiet|between us|on the down ?low|hush)",
    "between us",
    "hush",
    "secret",
    "off the record",
    "confidential",
    "internal",
    "leak(?:ed|ing)?",
    "rumou?rs?",
    "heard",
    "overheard",
    "can'?t say",
    "not supposed to",
    "shh+",
    "dl",
    "on the dl",
    "nobody knows",
    "no one knows",
    "mum'?s the word",
    "yet",
    "next (?:week|month|quarter|year)",
    "soon",
    "behind closed doors",
    "word is",
    "memo",
    "meeting today",
    "all-hands",
)


class Credentials(CueRule):
    """Passwords, logins and door codes shared in a post."""

    id: ClassVar[str] = "confidential.credentials"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Shares a password, login or access code"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "passwords?",
        "passcodes?",
        "pass code",
        "pw",
        "pwd",
        "login",
        "log-?in",
        "logins",
        "username",
        "user name",
        "credentials",
        "door code",
        "access code",
        "alarm code",
        "lock ?box code",
        "keypad code",
        "gate code",
        "pin(?: number| code)?",
        "wifi",
        "wi-fi",
        "2fa code",
        "badge",
    )
    context: ClassVar[re.Pattern[str] | None] = re.compile(
        r"(?i)\b(?:is|are|=|:|(?:changed|set|reset) to)\s*[\"'“]?[\w!@#$%^&*.\-]{3,}"
        r"|\b(?:use|borrow|share|shared|sharing|"
        r"here'?s|gave|give|text|sent|send|using|log in as|logged in as|on a sticky|sticky note|"
        r"written on|taped)\b|[:=]\s*\S{3,}"
    )
    window: ClassVar[int] = 40
    unless: ClassVar[re.Pattern[str] | None] = cue(
        "never share (?:your|a) password",
        "most common (?:\\w+ )?passwords?",
        "common passwords",
        "breach dumps",
        "reset your password",
        "forgot (?:my|your) password",
        "password manager",
        "strong password",
    )


class InternalFinances(CueRule):
    """The practice's money: revenue, losses, payer contracts, billing codes, pay."""

    id: ClassVar[str] = "confidential.internal_finances"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Discloses the practice's internal finances or payer terms"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "(?:medicaid|medicare|aetna|cigna|humana|united|uhc|bcbs|payer|payor|insurance) contracts?",
        "\\d+% of (?:medicare|medicaid)",
        "99[0-4]\\d\\ds?",
        "recoupment",
        "overbill(?:ed|ing)?",
        "pays (?:way |a lot |so much )?better",
        "lost \\$[\\d,.]+k?",
        "q[1-4] (?:numbers|revenue|results)",
        "rais(?:e|ing) (?:\\w+ ){0,3}prices",
        "price (?:increase|hike)s?",
        "revenue",
        "profits?",
        "losses",
        "losing money",
        "in the red",
        "margins?",
        "ebitda",
        "budget(?: cuts?| deficit| shortfall)?",
        "payroll",
        "cash flow",
        "bottom line",
        "collections",
        "write-?offs?",
        "reimbursement(?: rates?)?",
        "payer contracts?",
        "payor contracts?",
        "contract (?:with|rates?)",
        "fee schedule",
        "negotiated rates?",
        "rates? with (?:aetna|cigna|humana|united|uhc|bcbs|blue cross|medicare|medicaid|kaiser)",
        "(?:aetna|cigna|humana|unitedhealthcare|uhc|bcbs|blue cross|anthem|kaiser) "
        "(?:contract|pays|reimburses|rate)",
        "cpt(?: code)?s? ?\\d{4,5}",
        "\\d{5} code",
        "billing codes?",
        "upcod(?:e|ed|ing)",
        "billing (?:numbers|targets|quotas?)",
        "rvus?",
        "quotas?",
        "overhead",
        "made \\$[\\d,.]+[km]?",
        "\\$[\\d,.]+[km]? (?:in|of) (?:revenue|profit|losses|debt)",
        "in debt",
        "bankrupt(?:cy)?",
        "insolvent",
        "can'?t make payroll",
        "funding",
    )
    context: ClassVar[re.Pattern[str] | None] = OURS
    window: ClassVar[int] = 100
    practice_is_context: ClassVar[bool] = True
    unless: ClassVar[re.Pattern[str] | None] = ANNOUNCED


class UnreleasedPlans(CueRule):
    """Mergers, layoffs, closures and new locations before the practice announces them."""

    id: ClassVar[str] = "confidential.unreleased_plans"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Reveals the practice's unannounced plans"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "(?:2nd|second|3rd|third|another) (?:location|site|office|clinic|branch)",
        "(?:signed|signing) the lease",
        "looking at a (?:building|space|property)",
        "nothing signed",
        "(?:is|are) leaving",
        "haven'?t told",
        "cutting (?:\\d+ )?(?:\\w+ )?(?:jobs|positions|staff|hours|services|roles)",
        "merg(?:er|ers|ing|e|ed)",
        "acquisition",
        "acquir(?:e|ed|ing)",
        "bought out",
        "buy-?out",
        "being (?:bought|sold|acquired)",
        "selling the practice",
        "sale of the",
        "layoffs?",
        "laying (?:off|people off)",
        "lay(?:ing)? off",
        "let go of \\d+",
        "cutting (?:\\d+ )?(?:jobs|positions|staff|hours)",
        "downsiz(?:e|ing)",
        "restructur(?:e|ing)",
        "clos(?:e|ing|ure of) (?:the|our|a) (?:\\w+ )?"
        "(?:location|office|clinic|site|branch|practice)",
        "shutting down",
        "new (?:location|office|clinic|site|branch)",
        "open(?:ing)? (?:a|another|our) (?:second |third |new )?"
        "(?:location|office|clinic|site|branch)",
        "expan(?:d|ding|sion) (?:to|into)",
        "partnering with",
        "private equity",
        "pe firm",
        "hiring freeze",
        "pay cuts?",
        "benefit cuts?",
    )
    context: ClassVar[re.Pattern[str] | None] = re.compile(
        f"(?:{SECRET.pattern})|(?:{OURS.pattern})", re.IGNORECASE
    )
    window: ClassVar[int] = 160
    practice_is_context: ClassVar[bool] = True
    unless: ClassVar[re.Pattern[str] | None] = ANNOUNCED


class PersonnelMatters(CueRule):
    """Someone's discipline, termination, pay or HR case."""

    id: ClassVar[str] = "confidential.personnel"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Discloses a staff member's personnel matter"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "let (?:\\w+ ){1,4}go",
        "\\$\\d+(?:\\.\\d+)?\\s?/\\s?(?:hr|hour|yr|year)",
        "starting at \\$",
        "\\$\\d+ more than",
        "fired",
        "getting fired",
        "got canned",
        "terminated",
        "termination",
        "let go",
        "written up",
        "write-?up",
        "wrote (?:him|her|them) up",
        "suspended",
        "suspension",
        "disciplin(?:e|ed|ary)",
        "pip",
        "performance improvement plan",
        "final warning",
        "probation",
        "demoted",
        "demotion",
        "hr (?:complaint|investigation|case|meeting)",
        "reported to hr",
        "under investigation",
        "investigated",
        "salary",
        "salaries",
        "makes \\$",
        "paid \\$",
        "earns \\$",
        "making \\$",
        "\\$[\\d,.]+k? (?:a|an|per) (?:year|hour|hr)",
        "raise",
        "pay ?rate",
        "bonus(?:es)?",
        "resign(?:ed|ing)? (?:before|after|because)",
        "forced (?:out|to resign)",
        "failed (?:a|her|his|the) drug test",
        "rehab for",
    )
    context: ClassVar[re.Pattern[str] | None] = cue(
        "dr\\.? \\w+",
        "nurse \\w+",
        "coworkers?",
        "co-workers?",
        "colleagues?",
        "manager",
        "boss",
        "supervisor",
        "director",
        "receptionist",
        "front desk",
        "(?:the|our|one of our) "
        "(?:new |other )?(?:nurse|doctor|ma|tech|hygienist|assistant|biller|pa|np|rn|physician|"
        "provider|surgeon|resident|intern|staff|employee|girl|guy|lady)",
        "he",
        "she",
        "him",
        "her",
        "his",
        "they",
        "them",
        "[A-Z][a-z]+ (?:from|in|at) (?:billing|the front|hr|radiology|the lab|pharmacy|reception)",
        "everyone(?:'s| is)",
        "staff",
        "the new hire",
        "new (?:\\w+ )?hire",
        "our",
        "those of us",
        "(?-i:[A-Z][a-z]{2,})",
    )
    window: ClassVar[int] = 100
    unless: ClassVar[re.Pattern[str] | None] = cue(
        "congrat(?:s|ulations)",
        "welcome(?: to the team)?",
        "we'?re hiring",
        "job posting",
    )


class SecurityIncident(CueRule):
    """Breaches, ransomware and compromised systems at the practice."""

    id: ClassVar[str] = "confidential.security_incident"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Discloses a security incident at the practice"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "breach(?:ed)?",
        "data leak",
        "hack(?:ed|ers?)?",
        "ransomware",
        "malware",
        "virus on",
        "phish(?:ed|ing)",
        "compromised",
        "stolen laptop",
        "laptop (?:was )?stolen",
        "unencrypted",
        "exposed (?:patient )?(?:data|records)",
        "cyber ?attack",
        "systems? (?:is |are |went |has been )?down",
        "locked out of",
        "records (?:were|got) (?:stolen|accessed|exposed)",
        "snooping",
        "unauthorized access",
    )
    context: ClassVar[re.Pattern[str] | None] = OURS
    window: ClassVar[int] = 120
    practice_is_context: ClassVar[bool] = True
    unless: ClassVar[re.Pattern[str] | None] = ANNOUNCED


class LegalMatters(CueRule):
    """Lawsuits, settlements and investigations involving the practice or its staff."""

    id: ClassVar[str] = "confidential.legal_matters"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Discloses a legal matter of the practice"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "lawsuits?",
        "sued",
        "suing",
        "sue us",
        "malpractice (?:suit|claim|case)",
        "settle(?:d|ment)",
        "subpoena(?:ed)?",
        "deposition",
        "litigation",
        "our lawyers?",
        "attorneys?",
        "legal (?:team|action|department|said|says|hold)",
        "cease and desist",
        "(?:osha|state board|medical board|dea|oig|hhs|ocr) (?:complaint|investigation|audit|"
        "inquiry|visit)",
        "being investigated",
        "whistle-?blow(?:er|ing)?",
        "court",
    )
    context: ClassVar[re.Pattern[str] | None] = re.compile(
        f"(?:{OURS.pattern})|(?:{SECRET.pattern})|(?:{FIRST_PERSON.pattern})|dr\\.?\\s+\\w+"
        r"|\bgot served\b|\bserved (?:with|in)\b|\blawyers? (?:say|said|told)\b",
        re.IGNORECASE,
    )
    window: ClassVar[int] = 120
    practice_is_context: ClassVar[bool] = True
    unless: ClassVar[re.Pattern[str] | None] = ANNOUNCED


class InternalScreenshot(CueRule):
    """A photo or screenshot of an internal system, memo or schedule."""

    id: ClassVar[str] = "confidential.internal_screenshot"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Shares an image of an internal system or document"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "screenshots?",
        "screen ?shots?",
        "screen ?grab",
        "screencap",
        "photo",
        "pic",
        "picture",
        "snap(?:ped)?",
        "attached",
        "\\[(?:photo|image|screenshot|pic)",
    )
    context: ClassVar[re.Pattern[str] | None] = cue(
        "internal",
        "schedul\\w*",
        "templates?",
        "slots",
        "memo",
        "email from (?:management|admin|hr|leadership|the ceo|corporate)",
        "staffing (?:grid|sheet|schedule)",
        "payroll",
        "spreadsheet",
        "dashboard",
        "admin portal",
        "billing system",
        "scheduling system",
        "org chart",
        "budget",
        "policy (?:doc|document|binder)",
        "schedule",
        "system",
        "ehr",
        "emr",
        "epic",
        "cerner",
        "athena",
        "login screen",
        "intranet",
        "slack",
        "teams chat",
        "group chat",
    )
    window: ClassVar[int] = 60
    unless: ClassVar[re.Pattern[str] | None] = ANNOUNCED


class PracticeTerms(PolicyRule):
    """The practice's own confidential terms (``[policy] confidential_terms``)."""

    id: ClassVar[str] = "confidential.practice_terms"
    category: ClassVar[Category] = Category.CONFIDENTIAL_INFO
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Mentions a term the practice lists as confidential"

    def __init__(self, settings: PolicySettings) -> None:
        super().__init__(settings)
        terms = [t for t in self.settings.confidential_terms if t.strip()]
        self._pattern = (
            re.compile(
                r"(?<!\w)(?:"
                + "|".join(re.escape(t.strip()).replace(r"\ ", r"\s+") for t in terms)
                + r")(?!\w)",
                re.IGNORECASE,
            )
            if terms
            else None
        )

    def check(self, post: PostContext, analysis: Analysis) -> list[Finding]:
        if self._pattern is None:
            return []
        spans: list[Span] = spans_of(self._pattern, post.text)
        return [self.finding(spans)] if spans else []
