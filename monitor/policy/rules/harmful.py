"""``harmful_content``: content that could harm patients, coworkers or the practice's trust.

POLICY.md: harassment, insults or mockery of patients or colleagues (even unnamed), threats,
discriminatory remarks, oversharing about workplace conflicts aimed at identifiable people,
boasting about unsafe or unprofessional conduct at work. Not: ordinary frustration with no
target ("long shift, exhausted"), criticism of public policy.

Insults need a target (a patient, a colleague, someone in a room); threats and boasts of unsafe
conduct need the workplace or a person; frustration alone never fires.
"""

from __future__ import annotations

import re
from typing import ClassVar

from monitor.domain import Category, Severity
from monitor.policy.rules.common import CueRule, cue

# Who can be harmed: patients, colleagues, people at the practice (named or not).
TARGET = cue(
    "clients?",
    "ladies",
    "ppl",
    "sir",
    "ma'?am",
    "girl",
    "new grad",
    "(?-i:[A-Z][a-z]{2,}) (?:in|from) (?:billing|the lab|the front|radiology|it|hr|pharmacy|"
    "reception)",
    "u",
    "you",
    "patients?",
    "pts?",
    "my patient",
    "this patient",
    "(?:the|this|that|my|our|a) (?:\\w+ )?"
    "(?:lady|woman|man|guy|dude|girl|boy|kid|child|mom|dad|mother|father|family|grandma|grandpa|"
    "old (?:lady|man|woman|guy)|patient|pt|client|customer|resident|parent|parents|teen)",
    "(?:in|from) (?:room|bed|bay|rm) ?\\w+",
    "room \\d+",
    "bed \\d+",
    "these people",
    "people",
    "coworkers?",
    "co-workers?",
    "colleagues?",
    "waiting room",
    "front desk",
    "(?:my|our|the) (?:new )?(?:charge nurse|manager|boss|"
    "supervisor|director|doctor|dr|nurse|resident|intern|attending|receptionist|front desk|"
    "ma|tech|hygienist|surgeon|np|pa|pharmacist|biller|scheduler|admin|new hire|team|staff)",
    "dr\\.? [A-Z]\\w+",
    "nurse [A-Z]\\w+",
    "she",
    "he",
    "her",
    "him",
    "they",
    "them",
    "@\\w+",
    "frequent flyers?",
    "drug seekers?",
    "seekers?",
    "karen",
)
INSULT = cue(
    "(?:dumb|lazi|stupid|ugli|fatt|slow|rud|whini|grumpi|craz)est",
    "you know who you are",
    "complete (?:idiot|moron|joke|mess|disaster|clown)",
    "dumb as (?:rocks|a (?:rock|brick|box))",
    "attention seekers?",
    "fatt(?:y|ies)",
    "whine",
    "whining",
    "cry me a river",
    "bless (?:her|his|their) heart",
    "won'?t last",
    "be like",
    "🙄",
    "🤡",
    "🐷",
    "iconic",
    "absolute legend",
    "karma",
    "(?:is|are) a disaster",
    "do better",
    "humble (?:her|him|them)",
    "(?:please )?fire (?:this|that) (?:man|woman|guy|lady|person)",
    "nobody wants (?:u|you|her|him|them)",
    "not my job",
    "mind reader",
    "all in (?:her|his|their) head",
    "idiots?",
    "idiotic",
    "morons?",
    "moronic",
    "stupid",
    "dumb(?:ass)?",
    "imbeciles?",
    "retard(?:ed|s)?",
    "brain-?dead",
    "clueless",
    "incompetent",
    "useless",
    "worthless",
    "lazy",
    "pathetic",
    "disgusting",
    "gross",
    "nasty",
    "smelly",
    "stank",
    "stinks?",
    "fat",
    "obese slob",
    "whal(?:e|es)",
    "hippo",
    "pig",
    "slobs?",
    "trash",
    "white trash",
    "losers?",
    "freaks?",
    "weirdos?",
    "crazies",
    "crazy (?:lady|man|woman|guy|person)",
    "psycho",
    "nutjob",
    "nut ?case",
    "lunatic",
    "drama queen",
    "divas?",
    "princess",
    "entitled",
    "whin(?:y|er|ers|ing)",
    "crybaby",
    "hypochondriacs?",
    "faking (?:it|pain)",
    "fakers?",
    "junkies?",
    "crackheads?",
    "druggies?",
    "tweakers?",
    "addicts? (?:who|like)",
    "bitch(?:es|y)?",
    "b\\*tch",
    "asshole",
    "a-hole",
    "jerks?",
    "clowns?",
    "hag",
    "witch",
    "cow",
    "bimbo",
    "airhead",
    "snowflake",
    "karens?",
    "waste of (?:space|oxygen|time)",
    "can'?t stand",
    "hate (?:her|him|them|my|this|these|that)",
    "worst (?:nurse|doctor|coworker|boss|manager|patient|person)",
    "should be fired",
    "lol (?:at|@)",
    "laughed at",
    "made fun of",
    "mock(?:ed|ing)",
    "rolling my eyes at",
    "what an? (?:idiot|moron|joke)",
    "zero iq",
    "no brain",
    "iq of",
    "deserve(?:s|d)? (?:it|to suffer|what)",
    "old (?:bat|fool|goat|coot|bag|geezer|biddy|crone)",
    "buttercup",
    "toughen up",
    "gord[oa]s?",
    "lay off the (?:\\w+ )?(?:biscuits|donuts|doughnuts|cake|fries|soda|burgers|sweets|candy|"
    "carbs|snacks)",
    "pushing [34]\\d\\d",
    "the reason i drink",
    "💀",
    "(?:maybe )?(?:it'?s )?time to hang it up",
    "worst offender",
    "the one thing you had to",
    "(?:someone|somebody) (?:needs|has) to talk to (?:him|her|them)",
)


class InsultOrMockery(CueRule):
    """Insults or mockery aimed at patients or colleagues, named or not."""

    id: ClassVar[str] = "harmful.insult_or_mockery"
    category: ClassVar[Category] = Category.HARMFUL_CONTENT
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Insults or mocks a patient or colleague"
    trigger: ClassVar[re.Pattern[str]] = INSULT
    context: ClassVar[re.Pattern[str] | None] = TARGET
    window: ClassVar[int] = 100
    unless: ClassVar[re.Pattern[str] | None] = cue(
        "not (?:stupid|dumb)",
        "no such thing as a (?:stupid|dumb) question",
        "never (?:stupid|dumb)",
    )


class Threat(CueRule):
    """Threats of violence or retaliation against a person."""

    id: ClassVar[str] = "harmful.threat"
    category: ClassVar[Category] = Category.HARMFUL_CONTENT
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Threatens a person"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "(?:i )?will key",
        "key (?:your|ur|her|his|their) car",
        "catch these hands",
        "(?:punch|slap|hit|smack) \\w+ in the (?:face|mouth|head)",
        "before i do",
        "(?:i'?d|i would) love to (?:punch|slap|hit|strangle|kill|smack)",
        "laxatives in (?:it|her|his|their)",
        "spit in (?:her|his|their|your) (?:coffee|food|drink)",
        "(?:i'?ll|i will|gonna|going to|i'?m going to|about to|want to|wanna) (?:kill|hurt|"
        "punch|slap|strangle|choke|smack|beat|stab|shoot|end|destroy|ruin|get)",
        "(?:kill|hurt|punch|slap|strangle|choke|smack|beat up|stab|shoot) (?:her|him|them|"
        "that|this|the|my|you|u)",
        "watch (?:your|ur) back",
        "you'?ll regret",
        "you will regret",
        "(?:he|she|they)'?ll regret",
        "better watch",
        "find (?:out )?where (?:you|she|he|they) lives?",
        "key (?:her|his) car",
        "slash (?:her|his|their) tires",
        "wait(?:ing)? (?:for (?:her|him|them) )?in the parking lot",
        "make (?:her|his|their) life hell",
        "someone should (?:slap|punch|hurt|shoot|kill)",
        "deserves? (?:a|to be) (?:slap|punch|beat|shot|hurt)",
        "pull the plug on (?:her|him)",
        "(?:i )?know where (?:you|u|she|he|they) lives?",
        "(?:with )?extra spit",
        "won'?t (?:treat|see|help|take care of) (?:him|her|them) (?:again|anymore|ever)",
    )
    unless: ClassVar[re.Pattern[str] | None] = cue(
        "kill(?:ing)? (?:it|the game)",
        "killed it",
        "hurt(?:s)? my (?:back|feet|head)",
        "kill (?:germs|bacteria|viruses)",
        "kill(?:s)? me",
        "killing me",
    )


class Discrimination(CueRule):
    """Demeaning remarks about people for who they are."""

    id: ClassVar[str] = "harmful.discrimination"
    category: ClassVar[Category] = Category.HARMFUL_CONTENT
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Makes a discriminatory remark"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "ladies",
        "women",
        "(?:anyone|anybody|people|someone|nobody) over \\d+",
        "old people",
        "(?:don'?t|doesn'?t|can'?t|cannot) speak english",
        "pronouns",
        "immigrants?",
        "illegals?",
        "foreigners?",
        "mexicans?",
        "muslims?",
        "jews?",
        "blacks",
        "asians?",
        "arabs?",
        "africans?",
        "chinese",
        "indians?",
        "hispanics?",
        "latinos?",
        "gays?",
        "lesbians?",
        "trans(?:gender)? (?:people|patients|folks)",
        "trannies",
        "homeless (?:people|patients)",
        "welfare",
        "medicaid (?:people|patients|crowd|types)",
        "(?:old|elderly|fat|poor|disabled|deaf|autistic) (?:people|patients|folks)",
        "those people",
        "these people",
        "their kind",
        "that kind of (?:people|patient)",
        "women (?:doctors|drivers|surgeons)",
        "female (?:doctors|surgeons)",
        "\\w+ patients always",
        "refugees?",
        "can'?t even speak english",
        "speak english",
        "go back to",
    )
    context: ClassVar[re.Pattern[str] | None] = cue(
        "should(?:n'?t| not) be allowed",
        "should just",
        "need to stop",
        "not hiring",
        "won'?t hire",
        "can'?t keep up",
        "whine",
        "whining",
        "different clinic",
        "not a mind reader",
        "always",
        "never",
        "all (?:of them|they)",
        "all \\w+ are",
        "are all",
        "lazy",
        "dirty",
        "stupid",
        "dumb",
        "criminals?",
        "animals",
        "don'?t belong",
        "go back",
        "can'?t stand",
        "hate",
        "refuse to (?:treat|see)",
        "won'?t (?:treat|see)",
        "not treating",
        "deserve",
        "leech(?:es)?",
        "freeloaders?",
        "drain on",
        "breed",
        "disgusting",
        "gross",
        "ugh",
        "typical",
        "of course (?:she|he|they)",
        "entitled",
        "fake",
        "exaggerat",
        "dramatic",
        "smell",
        "loud",
        "lying",
        "liars?",
        "drug seekers?",
    )
    window: ClassVar[int] = 60
    unless: ClassVar[re.Pattern[str] | None] = cue(
        "(?:support|welcome|serve|celebrat\\w*|honou?r\\w*|respect\\w*|proud to (?:serve|care for))"
        " (?:our |all )?(?:\\w+ )?(?:immigrant|muslim|jewish|black|asian|lgbt|trans|gay|refugee)",
        "interpreters? (?:available|services)",
        "we speak",
        "hablamos",
        "all are welcome",
        "discrimination (?:is|has no)",
        "health equity",
        "disparit(?:y|ies)",
    )


class UnsafeConduct(CueRule):
    """Boasting about unsafe or unprofessional conduct at work."""

    id: ClassVar[str] = "harmful.unsafe_conduct"
    category: ClassVar[Category] = Category.HARMFUL_CONTENT
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Boasts about unsafe or unprofessional conduct at work"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "took (?:a few|some|a couple|one|two) (?:of )?(?:the )?(?:sample |extra |leftover )?"
        "\\w+ home",
        "nobody (?:counts|checks|noticed|notices|will notice)",
        "no one (?:counts|checks|noticed|notices|will notice)",
        "who'?s (?:checking|counting|gonna check)",
        "skipped hand (?:hygiene|washing)",
        "bare-?handed",
        "without gloves",
        "charted that i",
        "to get (?:her|him|them) out of (?:my|the) (?:\\w+ )?(?:room|office|chair) faster",
        "slowest iv",
        "made (?:her|him|them) wait (?:on purpose|longer)",
        "on purpose",
        "refused to (?:fill|treat|see|give|dispense)",
        "my pharmacy, my rules",
        "i don'?t believe in (?:it|vaccines|birth control)",
        "(?:i was|i'm|im|got|getting|showed up|came in|come in|working) "
        "(?:so |super |a little |kinda )?(?:drunk|hungover|high|buzzed|tipsy|stoned)",
        "hungover",
        "hung over",
        "buzzed",
        "tipsy",
        "stoned",
        "wasted",
        "(?:a|some|few|couple of?) (?:shots?|drinks?|beers?|edibles?) (?:before|during)",
        "(?:slept|napped|nap|sleeping|asleep) (?:on|during|through|in)",
        "didn'?t (?:wash|sanitize|glove|check|verify|double-?check|chart|read|sterilize|scrub)",
        "without (?:washing|gloves|checking|verifying|scrubbing|sterilizing|a (?:mask|time-?out))",
        "skipp?(?:ed|ing) (?:the )?(?:hand ?washing|time-?out|safety check|double check|"
        "sterilization|count|handoff|hand-?off|vitals|checks?)",
        "reuse[ds]? (?:needles|syringes|gloves)",
        "took (?:some|a few|a couple) (?:pills|meds|percs|oxys?|vicodin|norcos?)",
        "pocketed",
        "stole (?:meds|some)",
        "charted (?:vitals|it|them) (?:without|before)",
        "made up (?:the |some )?(?:vitals|numbers|charting)",
        "fudged",
        "faked (?:the )?(?:vitals|charting|signature)",
        "copied (?:and|&) pasted (?:the )?(?:note|charting)",
        "left (?:the |my )?(?:patient|pt|kid|baby) (?:alone|unattended)",
        "ignored (?:the )?(?:call ?light|call bell|alarm)s?",
        "turned off (?:the )?alarms?",
        "silenced (?:the )?alarms?",
        "on my phone (?:during|while|the whole)",
        "tiktok (?:during|while|with)",
        "(?:selfie|video|tiktok) with (?:the|a|my) (?:patient|pt|body|cadaver)",
        "let (?:my|the) (?:kid|son|daughter|friend|boyfriend|girlfriend) (?:do|give|watch|run)",
        "without (?:a )?license",
        "no license",
        "winged it",
        "wing it",
        "guessed (?:the )?dose",
        "eyeballed (?:the )?dose",
        # drinking or using at, before or between work
        "(?:beers?|tallboys?|brewskis?|shots?|drinks?|wine|vodka|tequila|whiskey|white claws?|"
        "seltzers?|edibles?|a joint|weed) (?:\\w+ ){0,4}?(?:at|on|during|over|before) "
        "(?:my |the )?(?:lunch|break|shift|work|call|the clock|rounds|visits?|clinic)",
        "(?:at|on|during|over) (?:my |the )?(?:lunch|break|shift|the clock|call)[^.!?\\n]{0,40}"
        "(?:beers?|tallboys?|brewskis?|shots?|drinks?|wine|vodka|edibles?|a joint)",
        "(?:beers?|tallboys?|shots?|drinks?|wine|edibles?) (?:\\w+ ){0,6}?between (?:my |the )?"
        "(?:visits|patients|pts|calls|cases|appointments|\\d)",
        "one (?:beer|drink|shot|glass) never (?:hurt|killed)",
        # reckless or distracted driving on the job
        "(?:doing|going|hit|hitting|drove|driving|clocked|at) (?:like |about |over )?"
        "(?:[89]\\d|1[0-4]\\d) ?(?:mph|miles an hour)",
        "(?:doing|going|hit|hitting|drove) (?:like |about |over )?(?:[89]\\d|1[0-4]\\d) "
        "(?:on|down|up|the whole way|all the way)",
        "(?:phone|tablet|laptop|ipad) (?:in (?:my|one) hand|on my (?:knee|lap|steering wheel))",
        "(?:text(?:ing|ed)?|chart(?:ing|ed)?|typ(?:ing|ed)|documenting|finish(?:ing|ed) (?:a|my) "
        "note) (?:\\w+ ){0,3}?(?:while|and) driv(?:ing|e)",
        "(?:charting|texting|typing) at (?:red|stop) ?lights",
        "(?:hit|backed into|dinged|scraped|clipped|knocked over|ran over) (?:\\w+ ){0,6}?"
        "(?:and|&) (?:just )?(?:drove|took|sped) off",
        # asleep on the clock
        "(?:slept|napped|snoozed|dozed(?: off)?|napping|asleep)[^.!?\\n]{0,60}? on the clock",
        "on the clock[^.!?\\n]{0,30}? (?:nap|naps|napping|sleep|slept|asleep)",
        "(?:slept|napped|snoozed|dozed)[^.!?\\n]{0,50}? between "
        "(?:calls|visits|patients|pts|cases)",
        # infection control and policy ignored
        "reus(?:e|ed|es|ing) (?:my |the |our |old |same )?(?:\\w+ ){0,2}?(?:needles?|syringes?|"
        "gloves?|lancets?|covers?|masks?|gowns?|catheters?|tubing|single-use \\w+)",
        "i don'?t care what (?:the |our )?(?:new )?(?:policy|protocol|rules?|guidelines?|manual) "
        "says",
        "rules are for (?:the )?\\w+",
        "(?:nobody|no one)(?:'s| has) died yet",
        # billing fraud, boasted
        "free money",
        "(?:bill|billed|billing|charge|charged|code|coded) (?:\\w+ ){0,6}?even (?:when|though|if) "
        "(?:no|nobody|no one|we|the doc|it)",
        "(?:nobody|no one)(?:'s| has)? ever (?:audited|checked|caught)",
    )
    context: ClassVar[re.Pattern[str] | None] = cue(
        "anyway",
        "nobody",
        "no one",
        "home",
        "closet",
        "samples?",
        "at work",
        "work",
        "shift",
        "on (?:the )?(?:unit|floor|clock|call)",
        "clinic",
        "office",
        "surgery",
        "procedure",
        "patients?",
        "pts?",
        "rounds",
        "charting",
        "chart",
        "meds",
        "lol",
        "lmao",
        "haha",
        "😂",
        "🤣",
        "no one (?:noticed|knew)",
        "nobody (?:noticed|knew)",
        "don'?t tell",
        "oops",
        "whatever",
        "yolo",
        "#\\w+",
        "today",
        "again",
        "during",
        "before",
        "the or",
        "er",
        "icu",
        "ward",
        "delivery",
        "delivered",
        "injection",
        "injections",
        "botox",
        "iv",
        "dose",
        "gloves",
        "hands",
    )
    window: ClassVar[int] = 120
    unless: ClassVar[re.Pattern[str] | None] = cue(
        "never (?:come|show up|work)(?: in| to work| at work)? (?:drunk|hungover|high)",
        "don'?t (?:come|show up) (?:to work )?(?:drunk|hungover|high)",
        "reminder",
        "psa",
        "always wash",
        "high (?:blood|risk|fever|sugar|dose|school|five|quality|acuity|volume|census|demand)",
        "got (?:a|my) (?:flu shot|booster)",
    )


class WorkplaceGossip(CueRule):
    """Gloating over a named colleague's personnel trouble (also confidential)."""

    id: ClassVar[str] = "harmful.workplace_gossip"
    category: ClassVar[Category] = Category.HARMFUL_CONTENT
    severity: ClassVar[Severity] = Severity.HIGH
    explanation: ClassVar[str] = "Gloats over an identifiable colleague's workplace trouble"
    trigger: ClassVar[re.Pattern[str]] = cue(
        "written up",
        "wrote (?:her|him|them) up",
        "on a pip",
        "pip",
        "got (?:fired|canned|suspended|demoted|let go)",
        "(?:is|was) (?:getting )?(?:fired|suspended|demoted)",
        "final warning",
        "final written(?: warning)?",
        "written warning",
        "(?:third|3rd|last) strike",
    )
    context: ClassVar[re.Pattern[str] | None] = cue(
        "lol",
        "lmao+",
        "🍿",
        "🙃",
        "😂",
        "🤣",
        "took (?:long|forever) enough",
        "finally",
        "good riddance",
        "bye+",
        "deserved (?:it|that)",
        "karma",
        "called it",
        "about time",
        "can'?t say i'?m surprised",
        "not surprised",
        "coasting",
        "👀",
    )
    window: ClassVar[int] = 100
