"""Understand a question once: the one place that reads its words.

`Understander.understand(question, previous)` returns a frozen `Query` that retrieval, the records and
the answer step only read:
- the spelling corrected ("blackpol safegaurding" -> "blackpool safeguarding"): a word that is neither a
  corpus word nor an English word is matched to the nearest corpus word (symspellpy: edit distance, then
  corpus frequency), council names included;
- the councils it names, or the conversation's when it names none (and does not ask across councils);
- the quality statement it is about, by name or in other words, matched with the embedding model against
  the framework's own wording (cqc.STATEMENT_WORDING);
- the kind of question (overview, compare, rank, list, strengths, improve, meaning, when, factual) and
  what is wanted (number, duration, date, score, rating, reason, person);
- for a follow-up ("and for safeguarding?", "what about Lancashire?", "why so low?", "who said that?"),
  what it inherits from the previous turn's Query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from . import cqc
from .councils import CouncilGazetteer, CouncilMatcher, short_name
from .text import NUMBER_WORDS, STOPWORDS, fold_quotes, tokenize

KINDS = ("overview", "compare", "rank", "list", "strengths", "improve", "action", "meaning", "when", "factual", "social")
# The kinds answered with a council's own sentences on one side of its findings (compose.findings): what it does
# well, what it must improve, what it is doing about it.
FINDINGS_KINDS = ("strengths", "improve", "action")
# The wants that are a figure: a question asking for findings names a figure as its topic, not as what it asks for.
_FIGURE_WANTS = ("number", "amount", "money", "percent", "duration", "date", "size")

# What kind of question it is: the first pattern that matches wins (lower-cased, spelling-corrected text).
# Asking when; not a "when" clause before the question ("When the CQC looked at Suffolk, how many were waiting?").
_WHEN = r"^\W*(?:and )?(?:by )?when\b(?![^?,]*, (?:how|what|which|who|why|did|does|do|is|are|was|were|has|have|can|could|will)\b)"
_KIND_PATTERNS = [
    ("meaning", r"\bwhat (does|do) .*\bmean\b|\bmeaning of\b|\bwhat is meant by\b|\bstand for\b"
                r"|\bwhat (is|are) (a |an |the )?(dols|nine quality statements|quality statements|themes)\b"
                r"|\bwhat (grades|ratings|scores) can\b|\bwhat (is|are) the (grades|ratings|possible (scores|ratings))\b(?!\s+(of|for|in|at|given to)\b)"
                r"|\bwhat (is|are) the (four|4|different|possible) (cqc )?(grades|ratings)\b"
                r"|\bwhich (quality )?statements (are|come|fall|sit) (in|under|within)\b"),
    ("compare", r"\bcompar|\bversus\b|\bvs\b|\bstack up\b|\b(better|worse|higher|lower|shorter|longer|bigger) than\b"
                r"|^\W*(and |so )?which (one |of them |of the two |of those )?(is|was|did|does|do|has|had|got|scored|performed|"
                r"came out|comes out) (better|worse|higher|lower|best|worst)\b"
                r"|\bdiffer(ence|ent)?\b.*\bbetween\b"),
    ("rank", r"\b(did|do|does|came out|come out|performed|perform|scored) (the )?(best|worst|least|most|highest|lowest)\b"
             r"|\b(best|worst|lowest|highest|bottom|top) (score|grade|rating|council|possible)\b"
             r"|\b(best|worst|weakest|strongest) (areas?|quality statements?|statements?|themes?|parts?)\b"
             r"|^\W*rank\b|\brank (the|all|them|these|every)\b|\bhow (do|does|did) .* rank\b"
             r"|\bleast badly\b|\bwhich (pilot )?councils? (had|got|has|gets|was|were) the\b"
             r"|\bwhich (one|authority) (had|got|has|gets|was|is|did) the (best|worst|lowest|highest|strongest|weakest)\b"
             r"|\bwhich (pilot )?(council|authority|one)s? (is|was|are|were) (the )?(best|worst|top|bottom|highest|lowest)\b"
             r"|\bthe (best|worst)( rated)? (pilot )?council\b|\brated (the )?(best|worst|lowest|highest)\b"),
    ("list", r"\bwhich (\w+ )?councils\b|^\W*list\b|\blist (the|all|of|every)\b|\bin which areas\b|\bwhich (areas|quality statements|statements)\b"
             r"|\bwhat (were|are) \w+(?:'s)? (nine |quality statement )?scores\b|\bwhat (were|are) (the|its|their) scores\b"
             r"|\bwhich (\w+ )?councils? do you\b|\bwhat councils\b"
             # "Did any council get outstanding?", "Were all the pilot councils rated good?"
             r"|\b(did|was|were|has|have|is|are) (any|all|none) (of )?(\w+ ){0,2}(councils?|authorities)( \w+)? (get|got|rated|receive|"
             r"received|given|scored|been rated|achieve|achieved)\b"),
    # what a council is doing about its findings: its actions and plans
    ("action", r"\bwhat (is|are|was|were|has|have|will) (the council|the authority|\w+( \w+)?) (doing|done|do|going to do|planning)\b"
               r"(?! well)|\bwhat (steps|actions?|measures)\b|\bhow (is|are|will|does|do) \w+( \w+)? (going to )?(fix|tackl|address|"
               r"turn\w* (it|things|\w+ \w+) around|deal with|respond)|\bplans? (to|for) (fix|improv|address|tackl)"
               r"|\bwhat'?s?( is| are| has been| have been)?( \w+)? being done\b|\bwhat (has|have) been done\b"
               r"|\bwhat (did|does|do|will) (the council|the authority|\w+( \w+)?) do (about|to (fix|improve|tackle|address))\b"),
    ("strengths", r"\b(doing|did|do|does|done) well\b|\bwent well\b|\bpositives?\b|\bstrengths?\b|\bany credit\b"
                  r"|\bpraised?\b|\bwhat (is|was) good\b|\bgood things\b|\b(anything|something) (good|positive)\b(?! (at|in|on|with|for)\b)"
                  r"|\bany (good|positive) (things?|points?|news|aspects?|findings?|areas?)\b"
                  # "what were they good at?", "what is Suffolk best at?"
                  r"|\bwhat (is|was|are|were) (\w+(?:'s)? ){1,3}(good|best|strong|strongest) (at|on|in)\W*$"),
    ("improve", r"\b(need|needs|needed) to (improve|do better|change|work on)\b|\bareas? for (improvement|development)\b"
                r"|\bwhat (problems|weaknesses|concerns|shortfalls|failings)\b|\bproblems did\b|\bweakness"
                r"|\bwhat (were|are) the (\w+ )?(problems|weaknesses|shortfalls|failings)\b|\bwhat went wrong\b"
                r"|\b(key|main) areas\b|\bfall short\b|\b(?<!health )(?<!memory )(?<!mobility )(?<!hearing )(?<!learning )(problems?|issues|concerns|difficulties) (with|in)\b"
                r"|\b(anything|something) (bad|negative|wrong)\b|\bwhat'?s? (is |was )?wrong\b|\b(is|was|are|were|goes|went) wrong with\b"),
    ("when", rf"{_WHEN}|\bwhat date\b|\bwhat year\b"),
    ("overview", r"\bhow (is|are|was|were) \w+( \w+)? (doing|getting on|performing)\b|\bsummar|\bverdict\b"
                 r"|\bhow (did|does) \w+( \w+)? (do|fare|get on|perform)\W*$|\bhow well (is|was|did|does) \w+( \w+)? (doing|do)\W*$"
                 r"|\boverall (rating|verdict|result|picture|judgement|assessment|score|grade)\b|^\W*overall\b|\bresult\b|\bhow (good|bad) (is|was|are)\b \w+\W*$"
                 r"|^\W*what did (the )?(cqc|inspectors|regulator) (say|find|conclude) about \w+( \w+)?\W*$"
                 r"|\bgood or bad\b|\bany good\b(?! (at|in|on|with|for)\b)"
                 r"|^\W*(is|are|was|were) (?!(that|this|it|these|those|they)\b)\w+( \w+)? (good|bad|ok|okay|failing)\W*$"
                 r"|^\W*what (did|does) \w+( \w+)? (get|receive|achieve)\W*$"),
]
_KIND_RES = [(kind, re.compile(pattern)) for kind, pattern in _KIND_PATTERNS]
# Thanks, greetings and the like: nothing to look up.
_SOCIAL = re.compile(r"^\W*(thanks?( you)?( very much)?|thank u|cheers|ta|ok(ay)?|great|cool|nice|brilliant|perfect|"
                     r"good|fine|got it|understood|hello|hi|hey|good (morning|afternoon|evening)|bye|goodbye)\W*$")
# "tell me more": the previous question again, answered by another passage
_MORE = re.compile(r"^\W*(tell me more|(tell me )?more( please)?|go on|anything else|what else|(any )?more detail(s)?|"
                   r"say more|continue|and\?*|what else did (it|they|the report) say)\W*$")
# "what about the others?": the previous question again, about the other councils
_OTHERS = re.compile(r"\bthe (others|rest)\b|\bother councils\b|\bthe other (\w+ )?councils\b")

# "who is the <role> of ...?", the role (one to three words) its group
_WHO_IS_THE = r"^\W*(?:and )?who (?:is|was|are|were) (?:the|its|their|\w+'s) ((?:\w+ ){0,2}?\w+) (?:of|at|in|for)\b"
# "Who ...?" that asks for no name: "who do I ring?" (a service), "who waits longest?", "who is most affected?" (a group)
_WHO_NOT_A_NAME = (r"(?! (?:do|should|can|could) (?:i|we|you|they|people) (?:ring|call|phone|contact|speak to|talk to|go to|ask)\b)"
                   r"(?! (?:(?:is|are|was|were|has|have) )?(?:(?:most|more|least|still|often) )?(?:wait\w*|affected|benefit\w*|"
                   r"suffer\w*|struggl\w*|likely|at risk|miss(?:es|ed)? out|los(?:e|es|t|ing) out|uses?|used|receiv\w*|gets?|got)\b)")
# "What is the population of Blackpool?": a count of people (not "what is the population like?")
_POPULATION_ASKED = r"^\W*what(?: is|'s| was) (?:the )?(?:total |overall )?population\b(?! (?:like|make-?up|mix|breakdown))"
# What is wanted: (name, pattern). "rate" is not a rating word ("drug death rate", "rates of direct payments").
_WANT_PATTERNS = [
    ("reason", r"^\W*(and )?why\b|\bwhat (is|was) the reason\b|\breasons?\b|\bwhat caused\b|\bhow come\b"),
    # "who is the leader of ...?": a named person
    ("name", rf"{_WHO_IS_THE}|^\W*what is the name of\b"),
    ("person", rf"^\W*(and )?who\b{_WHO_NOT_A_NAME}|\bwhich (\w+ )?(councillors?|person|officials?|inspectors?|members?|officers?|"
               r"directors?|ministers?|leaders?|spokes(person|man|woman))\b|\bwhose\b|\bname of the\b"),
    ("frequency", r"\bhow (often|frequently|regularly)\b"),
    # "what did their councillor say?", "how did the council respond?": the council's own words (cqc.COUNCIL_SPOKESPERSON)
    ("council_said", r"\b(what|how) (did|does|has|have) (the |their |its |\w+'s )?(\w+ )?(council|councillors?|cllr|leader|council leader|"
                     r"cabinet member|portfolio holder|spokes(person|man|woman))( \w+){0,6}? (say|said|respond|react|reply)\b"),
    # "What percentage of home care services were rated good?": a share, of what was rated
    ("percent", r"\bwhat (percentage|proportion|share|per ?cent)\b|\bhow satisfied\b"),
    ("score", r"\bscor(e|es|ed|ing)\b|\bhow many [1-4]s\b"),  # "how many 2s did birmingham get": its scores
    ("rating", r"\b(rating|ratings|rated|grade|grades|graded|verdict)\b"),
    ("size", r"\bhow (big|large|bad|long) (is|was|are|were) (the |its |their |\w+'s )?(\w+ )?(backlog|waiting list|list|queue)s?\b"
             r"|\bhow (big|large)\b|\bwhat size\b|\bscale of\b"),
    ("duration", r"\bhow long\b|\bhow (quickly|fast|soon)\b|\bhow many (days|weeks|months|years)\b|\b(longest|shortest)\b[^?.]*\bwait|\bwait(ed|ing)? (for )?how long\b"
                 r"|\b(long|longest|maximum|max|average|median|typical|usual) waits?\b|\bwaiting times?\b"),
    ("date", rf"{_WHEN}|\bwhat date\b|\bwhat year\b|\bsince when\b|\b(deadline|target date|due date)s?\b"),
    ("money", r"\bhow much\b[^?.]*\b(cost|spend|spent|pay|paid|budget|fund|funded|funding|money|overspen\w*|price|charge|"
              r"invest\w*|sav(e|ed|ing)|grant|worth)\b|\bwhat (did|does|do|will) \w+( \w+)? cost\b"),
    ("amount", r"\bhow much\b|\bwhat (amount|sum)\b"),
    ("number", rf"\bhow many\b|\bwhat number\b|{_POPULATION_ASKED}"),
]
_WANT_RES = [(want, re.compile(pattern)) for want, pattern in _WANT_PATTERNS]
# A rating or score acted on ("Has Blackpool challenged its ratings?", "who welcomed the good rating?") is what the
# question is about, not what it asks for.
_REACTION = re.compile(r"\b(challeng|appeal|disput|contest|welcom|question|react|respond|celebrat|criticis|accept|reject|"
                       r"review|overturn|chang)\w*\b[^?.]*\b(ratings?|rated|scores?|grades?|verdict)\b")

# A question, not keywords: a question word first, or a question mark.
_QUESTION = re.compile(r"^\W*(and |so |but )?(what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|"
                       r"will|would|has|have|had|should|shall|may|might|tell|give|show|list|compare|explain|describe|"
                       r"rank|name|find)\b|\?")
# The word naming a rating or score ("Ofsted rating", "hygiene score").
_RATED_BY = re.compile(r"\b([A-Za-z]+)(?:'s)? (?:ratings?|scores?|grades?)\b", re.I)
# Asking who said something ("who said that?", "who told them that?").
_WHO_SAID = re.compile(r"\bwho (said|says|wrote|told|stated|was quoted|is quoted)\b|\bwhose (words|quote)\b")
# Comparing with the country as a whole, not with another council.
_NATIONAL = re.compile(r"\b(compare[ds]?|comparison|stack up|against|than|with|to)\b[^?.]*\b(england|national(ly)?|the country|"
                       r"the (england|national) average|average)\b")
# A yes-or-no question ("has it improved?", "is that a lot?").
_YES_NO = re.compile(r"^\W*(has|have|had|is|are|was|were|did|does|do|can|could|will|would|should)\b")
# Asking about a council and nothing else ("Tell me about Lincolnshire", "Info on Suffolk"; the council names taken
# out): an overview. A bare name ("Blackpool?") too, when it opens a conversation.
# What may follow a council's name asking about it as a whole: "Suffolk adult social care assessment", "birmingham cqc"
_ITS_ASSESSMENT = (r"(\W*(its|their|the)?\W*(pilot |cqc |latest |new )?((adult )?social care\b|asc\b)?\W*"
                   r"(assessment|report|rating|inspection|results?|verdict|provision|services?)?s?)?(\W*(by )?(the )?cqc)?\W*$")
_ABOUT_START = (r"^\W*((can you |could you |please )?(give|show) me |i('d| would) like |i want )?(please )?"
                r"(tell me (more )?about|info(rmation)? (on|about)|details (on|of|about)|"
                r"(an? )?(overview|summary|rundown|run down|round-up|roundup) (of|for|on)|summari[sz]e|sum up|"
                r"what do you (have|know) (on|about)|(the )?(cqc )?(report|assessment|verdict) (on|for|of))")
_ABOUT = re.compile(_ABOUT_START + _ITS_ASSESSMENT)
# ... and, naming no council, the pilot as a whole ("Tell me about the CQC pilot assessments of the five councils")
_ABOUT_PILOT = re.compile(_ABOUT_START + r"\W*(the )?(cqc'?s? )?pilots?( (assessments?|councils?|results?|ratings?))?"
                          r"( (of|for) the (five|5) (councils|authorities|local authorities))?\W*$")
_BARE = re.compile(r"^\W*" + _ITS_ASSESSMENT)
# Asking whether a council did well at something: with a quality statement, the answer is its score.
_EVALUATIVE = re.compile(r"\b(do|did|does|doing|done) (well|badly)\b|\bhow (good|well|bad)\b|\bwell run\b"
                         r"|\bhow did \w+( \w+)? (do|score|get on|perform)\b|\bhow (is|was) \w+( \w+)? (at|on)\b"
                         # "Is Blackpool good at safeguarding?"
                         r"|^\W*(is|are|was|were) \w+( \w+)? (any )?(good|bad|poor|strong|weak|failing) (at|on|in|with)\b"
                         r"|\bany good (at|in|on|with)\b")
# Opening words of an elliptical follow-up, which asks the previous question again about something else.
_ELLIPTICAL = re.compile(r"^\W*(and|also|what about|how about|same for|what of|and what about|and for|and in|"
                         r"and the|so)\b")
# "which one did best?", "which of them ...": one of the councils the previous question was across (or compared)
_WHICH_OF_THEM = re.compile(r"^\W*(and |so )?which (one|ones|of them|of these|of those)\b")
# "and worst?" after a ranking: the same ranking read from its other end
_ORDER_ONLY = re.compile(r"^\W*(and |so |what about |how about )?(the |which )?(best|worst|top|bottom|highest|lowest|weakest|"
                         r"strongest)( one| council| of them)?\W*$")
# Asking for findings and naming nothing they are about ("what were the main problems?"): in a conversation, about
# what it has been about (a statement's score asked before: that statement's problems)
_BARE_FINDINGS = re.compile(r"^\W*(so |and |ok |okay )?(what|which) (were|are|was|is) (the |its |their )?"
                            r"(main |key |biggest |big |major )?(problems?|issues|concerns|weaknesses|failings|shortfalls|"
                            r"positives|strengths|good points|bad points)( found)?\W*$"
                            r"|^\W*(so |and )?what (went|was|is) (wrong|well|good|bad)\W*$")
# Words that point back at the previous turn's topic ("it", "that backlog", "the plan"). Words that point only at
# its council ("there", "they", "the council") are not here: any question in a conversation keeps its council.
_ANAPHOR = re.compile(r"\b(that|this|it|its|them|those|these|he|she|the plan|the board|the others|the rest)\b")

# Questions across councils: not narrowed to the conversation's council.
# "the council" (one) is the conversation's own.
_ACROSS = re.compile(r"\b(which|what|any|all|other) (\w+ )?councils?\b|\bthe (\w+ )?councils\b|\bpilot councils\b|\bthe others\b|"
                     r"\bthe rest\b|\bcouncils\b|\bacross the pilot\b|\bwhich (one|authority|authorities)\b")
# What "how many" counts: the words after it, up to a verb or a preposition.
_COUNTED = re.compile(r"\bhow many ((?:(?!(?:were|was|are|is|did|do|does|have|has|had|got|get|in|of|for|on|at|from|with|"
                      r"who|that|than)\b)[a-z'-]+ ?){1,3})")
# The role a "who is the ... of ...?" question asks the holder of.
_ROLE = re.compile(_WHO_IS_THE)
_OPINIONS = re.compile(r"\b(comments?|commented|readers?|responses?|(?<!you )(think|thought)|opinions?|reactions?)\b")
# Asking whether the previous figure is high or low: the reports answer by the England average.
_JUDGING = re.compile(r"^\W*(and )?(is|was|are|were|isn't|wasn't) (that|this|it|these|those|they) (very |too |really )?"
                      r"(low|high|good|bad|poor|a lot|normal|typical|unusual|worse|better|above|below)\b")
# Asking for the largest of a figure ("What was the longest wait ...?", "the maximum", "the most people").
_EXTREME = re.compile(r"\b(longest|maximum|max|most|highest|largest|biggest|greatest|peak)\b")
_POSSESSIVE = re.compile(r"['’]s$", re.I)
_WORD = re.compile(r"[A-Za-z][A-Za-z'’]*")
_HIGH = re.compile(r"\bleast bad(ly)?\b|\b(best|highest|top|most highly|strongest)\b")
_FAULT = re.compile(r"\b(low|bad|badly|poor|poorly|worse|worst|weak)\b")
_PRAISE = re.compile(r"\b(good|well|high|outstanding|better)\b")
_WORSE = re.compile(r"\b(worse|weaker|poorer|behind)\b")  # comparing two: asks which comes out behind
_LOW = re.compile(r"\b(worst|lowest|bottom|poorest|least|weakest|fewest)\b")
_RATING = re.compile(r"\b(" + "|".join(r.lower() for r in cqc.RATINGS) + r")\b")
# What a "why" question asks the reason for, when it asks why a council was judged as it was: a rating or a score.
_SCORE_WORDS = r"rat(ed|ing|ings)|scor(e|ed|es|ing)|graded"
_SCORE_WORD = re.compile(rf"\b({_SCORE_WORDS})\b")
_JUDGED = re.compile(rf"\b({_SCORE_WORDS}|so (low|high|bad|poor|good|well)|" + "|".join(r.lower() for r in cqc.RATINGS) + r")\b")
_SPACES = re.compile(r"\s+")
# A rating, score or assessment asked of a time other than the reports' own: a later one, an earlier one, or a year.
_LATER = re.compile(r"\b(next (time|year|inspection|assessment|one|rating)|in (the )?future|will|going to|gonna|"
                    r"expected to|likely to|predict\w*|forecast\w*)\b")
_EARLIER = re.compile(r"\b(last time|previous(ly)?|before (this|that|the latest|the last|the current|now|then)\b|"
                      r"prior|used to|earlier (rating|assessment|inspection|one|score)s?|first time)\b")
_YEAR = re.compile(r"\b(?:in|for|by|during|of|from) ((?:19|20)\d\d)\b")
# Asking whether an assessment was done again, or what came of a review of its ratings: a later time than the reports'
_REASSESSED = re.compile(r"\b(been|be|being|was|were|get|got) re-?(assessed|inspected|rated|examined)\b"
                         r"|\b(assessed|inspected|rated|looked at) again\b"
                         r"|\b(now |rating |score )?after the review\b|\boutcome of the review\b")
_INSPECTED = re.compile(r"\b(inspect\w*|assess(ed|ment)?|rated|rating|looked at|visit\w*)\b")
# The words a ranking of councils by their records is asked in ("Which pilot council did best on the individual
# quality statement scores?"); a ranking asked by anything else is about what the reports found.
_RECORD_WORDS = frozenset(t for w in (
    "best worst highest lowest top bottom most least good bad badly well poorly better worse performed perform performance "
    "scored score scores scoring rated rating ratings grade grades overall quality statement statements individual area "
    "areas part parts theme themes assessment assessments council councils authority authorities possible every all "
    "first last rank ranked ranking order strongest weakest strong weak came come out did do does fewest fewer "
    "number adult social care according").split()
    for t in tokenize(w))
# Asking what someone said or how they responded: a question of its own, whatever the one before wanted.
_ASKS_WORDS = re.compile(r"\b(what|how) (did|does|do|has|have|will) [^?.]*\b(say|said|think|thought|respond|responded|react|"
                         r"reacted|reply|replied|comment|commented|feel|felt)\b")
# A service the CQC's assessments of councils' adult social care do not rate, named before a rating or score.
_OTHER_SERVICE = re.compile(r"\b(children'?s(?: services| social care)?|schools?|education|hospitals?|gps?|gp surger(?:y|ies)|"
                            r"police|fire(?: service)?|housing|send|hygiene|food)(?:'s)? (?:services? )?(?:\w+ )?"
                            r"(?:ratings?|scores?|grades?)\b")
# ... or judged in other words ("How good are Blackpool's schools?", "How did its children's social care do in its
# last inspection?"); not hospital discharge or admissions, which adult social care is part of.
_OTHER_SERVICE_NAMED = re.compile(r"\b(children'?s (?:services|social care|social services)|schools?|"
                                  r"hospitals?(?! (?:discharge|admission|avoidance|stay|social work))|gp surger(?:y|ies)|"
                                  r"police|fire service)\b")
# Services a council commissions, each rated by the CQC on its own ("Are home care agencies in Blackpool rated well?"):
# the passages give the shares of them rated good; the council's own rating record is not what is asked.
_PROVIDER_RATED = re.compile(r"\b(home care|care homes?|nursing homes?|providers?|agenc(?:y|ies)|supported living|"
                             r"residential (?:care|homes?))\b[^?.]*\b(rated|ratings?)\b"
                             r"|\b(ratings?|rated)\b[^?.]*\b(of|for) (?:the )?(home care|care homes?|nursing homes?|providers?)\b")
_JUDGED_AS_A_WHOLE = re.compile(r"\b(how good|any good|inspect\w*|ofsted|rated|performance|how (did|do|does|is|are|was|were)"
                                r"\b[^?.]*\b(do|doing|perform\w*|get on|getting on))\b")
_HOW_MANY_COUNCILS = re.compile(r"\bhow many (of (the|them|these) )?(\w+ )?(councils|authorities|local authorities)\b")
_WHICH_COUNCIL = re.compile(r"^\W*(and )?which (\w+ )?(council|authority) (had|has|have|did|does|was|is|got|gets|showed|found)\b")
# Asking which councils the reports cover or assessed, not what they found.
_COVERAGE = re.compile(r"\b(cover\w*|included|includ\w+|in (the|this|these|your) (reports?|pilot|data)|were in|are in|"
                       r"assessed|inspected|took part|part of|do you (have|know|hold)|information|info|reports? (on|about|for))\b")
_PILOT = re.compile(r"\bpilot")
_SCORE_VALUE = re.compile(r"\b(?:score|scores|scored|rating) of ([1-4])\b|\bwhat (?:does|do|is) (?:a )?([1-4])s?\b"
                          r"|\bscores? ([1-4]) (?:mean|means|and)\b|\bscored (?:a )?([1-4])\b|\b([1-4])s\b")
# A score every one of the nine statements got ("all 3s", "3s across the board")
_ALL_SCORED = re.compile(r"\b(all|every|only|nothing but) ([1-4])s\b|\b([1-4])s across the board\b"
                         r"|\bscored (a )?([1-4]) (in|for|on|across) (all|every)\b")


def _off_record(topic: tuple[str, ...]) -> bool:
    """Whether a topic names something besides the councils' records (numbers aside)."""
    return any(t not in _RECORD_WORDS and t not in NUMBER_WORDS for w in topic for t in tokenize(w))


def _other_service(lower: str) -> str | None:
    """The service named ("children's services") if the question asks its rating or score."""
    m = _OTHER_SERVICE.search(lower)
    return m.group(1) if m else _other_service_judged(lower)


def _other_service_judged(lower: str) -> str | None:
    """The service named ("schools") if the question judges it as a whole ("How good are Blackpool's schools?")."""
    m = _OTHER_SERVICE_NAMED.search(lower)
    return m.group(1) if m and _JUDGED_AS_A_WHOLE.search(lower) and "adult" not in lower else None


# Matching a statement named in other words: the question's combined similarity (StatementMatcher) must reach
# this and beat the next statement by the margin (looked at on the pool's tuning split: questions about a
# statement scored 0.45-0.70, with margins from 0.02; general questions mostly under 0.45).
# A question of at most this many words (stop words aside) naming no council leans on the previous one.
SHORT_WORDS = 2
STATEMENT_MIN_SIMILARITY = 0.45
STATEMENT_MARGIN = 0.02
# ... and to read "how good is Blackpool at joint working with the NHS?" as asking for that statement's score.
STATEMENT_SURE = (0.50, 0.05)


@dataclass(frozen=True)
class Query:
    text: str  # the question as asked
    corrected: str  # spelling corrected (the same as text when nothing was corrected)
    search: str  # what retrieval searches for: the corrected question, with what a follow-up leans on
    councils: tuple[str, ...] = ()  # the councils it is about: named, from the filter, or the conversation's
    named: tuple[str, ...] = ()  # the councils this question itself names
    uncovered: tuple[str, ...] = ()  # councils it names that no document covers
    statement: str | None = None  # a CQC quality statement
    theme: int | None = None  # the theme of its statement, or the theme it names ("the leadership theme")
    statement_by: str | None = None  # "name" | "meaning" (the embedding model) | "conversation"
    kind: str = "factual"  # one of KINDS
    wants: str | None = None  # number | amount | percent | duration | date | score | rating | reason | person
    # | frequency | size | name (of a person) | money
    follow_up: bool = False
    across: bool = False  # about councils in general ("which councils ...", "the others")
    topic: tuple[str, ...] = ()  # its words but those saying what kind of question it is, which councils, stop words
    counted: str | None = None  # what "how many" counts ("people", "safeguarding concerns")
    role: str | None = None  # whose name "who is the ... of ...?" asks for ("leader", "chief executive")
    opinions: bool = False  # asks what people thought or commented: readers' comments may answer
    order: str | None = None  # "high" (best, highest, least badly) | "low" (worst, lowest, bottom)
    rating: str | None = None  # a rating the question names ("Which councils were rated good?")
    pilot: bool = False  # about the pilot councils
    score_value: int | None = None  # a score it names ("What does a score of 2 mean?")
    base: str = ""  # the self-contained question a chain of follow-ups leans on (its own text if none)
    previous_answer: tuple[str, int, int] | None = None  # (doc, start, end) of the previous turn's quote
    shifted: bool = False  # a follow-up bringing a topic of its own ("what about the autism team?")
    swapped: bool = False  # a follow-up asking the previous question of another council ("what about Lancashire?")
    more: bool = False  # "tell me more": the previous question, answered by something other than its quote
    by_rating: bool = False  # "why?" after ratings: each council's findings on the side of its rating
    attribution: bool = False  # a follow-up asking who said the previous quote ("who said that?")
    rated_by: str | None = None  # a rating or score the reports never name ("Ofsted rating"): another body's
    another_time: str | None = None  # a rating or score asked of another time: "later", "earlier" or a year ("2019")
    keywords: bool = False  # words, not a question ("nottingham waiting times"): a figure it names is preferred, not required
    mentioned: tuple[str, ...] = ()  # every council the conversation has been about, the latest last
    across_findings: bool = False  # "Which councils had no waiting lists?": what each report says on it, not their records
    judged: bool = False  # asks why a council got its rating or a statement's score ("Why was Blackpool rated inadequate?")
    extreme: bool = False  # asks for the largest figure ("the longest wait", "the maximum"): answered by "up to 226 days"
    # what it says in everyday words and the reports' words for them, which the search adds (cqc.REPORT_WORDING):
    # (("keep track", "monitor tool"), ...)
    reworded: tuple[tuple[str, str], ...] = ()
    all_scored: bool = False  # asks for a score all nine statements got ("what councils got all 3s"): see score_value
    places: tuple[str, ...] = ()  # towns it names for their council ("near Ipswich": Suffolk), as written

    @property
    def searched_for(self) -> str | None:
        """What the reply says it searched for, when that is not what was typed."""
        return self.corrected if self.corrected != self.text else None

    def json(self) -> dict:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}  # asdict(), without its deep copy
        out["searched_for"] = self.searched_for
        out["previous_answer"] = list(self.previous_answer) if self.previous_answer else None
        return out

    @classmethod
    def from_json(cls, data: dict) -> "Query":
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        for name in ("councils", "named", "uncovered", "topic", "mentioned", "places"):
            fields[name] = tuple(fields.get(name) or ())
        fields["reworded"] = tuple(tuple(pair) for pair in fields.get("reworded") or ())
        if fields.get("previous_answer"):
            fields["previous_answer"] = tuple(fields["previous_answer"])
        return cls(**fields)


# Contractions written without their apostrophe ("whats being done", "dont they have enough staff"): read as
# meant. Only those that are no other word ("its", "ill", "well", "lets" are).
_CONTRACTIONS = {w.replace("'", ""): w for w in (
    "what's that's who's how's where's when's why's there's here's don't doesn't didn't isn't aren't wasn't "
    "weren't hasn't haven't hadn't can't couldn't wouldn't shouldn't won't i'm i've you're they're they've we've").split()}


# Short forms people type that the reports spell out ("how many ppl waiting", "dps", "govt").
_SHORTHAND = {"ppl": "people", "pple": "people", "govt": "government", "dept": "department", "yr": "year",
              "yrs": "years", "mths": "months", "wks": "weeks", "asc": "adult social care", "dp": "direct payment",
              "dps": "direct payments", "sw": "social worker", "sws": "social workers", "pas": "personal assistants",
              "ot": "occupational therapy", "ld": "learning disability", "mh": "mental health"}


class Speller:
    """Corrects words that are neither corpus words nor English words to the nearest corpus word."""

    def __init__(self, texts: list[str], extra_words: list[str] = ()):
        from symspellpy import SymSpell

        counts: dict[str, int] = {}
        for text in texts:
            for word in _WORD.findall(fold_quotes(text).lower()):
                word = word.strip("'’")
                if len(word) > 1:
                    counts[word] = counts.get(word, 0) + 1
        for word in extra_words:
            counts[word] = counts.get(word, 0) + 1000  # council names: always a good target
        self.corpus = counts
        self.names = frozenset(extra_words)
        self.spell = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, count in counts.items():
            self.spell.create_dictionary_entry(word, count)

    @cached_property
    def english(self) -> frozenset[str]:
        import importlib.resources

        path = importlib.resources.files("symspellpy") / "frequency_dictionary_en_82_765.txt"
        return frozenset(line.split(" ", 1)[0] for line in path.read_text(encoding="utf-8").splitlines())

    def correct_word(self, word: str, name: bool = False) -> str | None:
        """The corpus word nearest a misspelt one; for a `name` (capitalised within the question: "Ofsted"), only
        a council's name ("Lancashre" -> "lancashire"), never an everyday word ("often")."""
        from symspellpy import Verbosity

        lower = word.lower()
        if lower in self.corpus or lower in STOPWORDS or lower in self.english:
            return None
        if len(lower) >= 4 and lower.endswith("in") and not name and (lower + "g" in self.english or lower + "g" in self.corpus):
            return lower + "g"  # a dropped g: "how is blackpool doin", "waitin"
        if len(lower) < 5:
            return None
        distance = 1 if len(lower) <= 5 else 2
        suggestions = self.spell.lookup(lower, Verbosity.CLOSEST, max_edit_distance=distance)
        suggestions = [s for s in suggestions if s.term in self.names] if name else suggestions
        return suggestions[0].term if suggestions else None

    def correct(self, text: str) -> str:
        out, pos = [], 0
        for m in _WORD.finditer(text):
            word = _POSSESSIVE.sub("", m.group().strip("'’"))  # "Lincolnshire's" is "Lincolnshire" and its 's
            fixed = _CONTRACTIONS.get(word.lower()) or _SHORTHAND.get(word.lower()) or \
                self.correct_word(word, name=word[:1].isupper() and bool(text[:m.start()].strip()))
            if fixed and fixed != word.lower():
                out.append(text[pos:m.start()])
                out.append(fixed)
                pos = m.start() + len(word)
        out.append(text[pos:])
        return "".join(out)


class StatementMatcher:
    """The quality statement a question is about: named (its distinctive words), or in other words: by the
    embedding model, half against the best of the framework's phrasings of each statement, half against
    the centroid of the corpus passages an assessment reports under it."""

    _GENERIC = {"care", "peopl", "support", "improv", "system", "manag", "live", "need", "assess"}

    def __init__(self, encoder=None, centroids: dict[str, np.ndarray] | None = None):
        self.encoder = encoder
        self.centroids = centroids or {}
        self.phrasings = [(qs, text) for qs in cqc.QUALITY_STATEMENTS for text in (qs, *cqc.STATEMENT_WORDING[qs])]

    @cached_property
    def _vectors(self) -> np.ndarray:
        return self.encoder.encode([text for _, text in self.phrasings])

    def by_name(self, text: str) -> str | None:
        """The statement sharing most of its name's distinctive words with the text, or None."""
        stems = set(tokenize(text))
        best, best_score = None, 0.0
        for qs in cqc.QUALITY_STATEMENTS:
            own = set(tokenize(qs))
            shared = stems & own
            if not shared or (not shared - self._GENERIC and len(shared) < 2):
                continue
            if len(shared) / len(own) > best_score:
                best, best_score = qs, len(shared) / len(own)
        return best

    def by_meaning(self, text: str, also: tuple[str, ...] = ()) -> tuple[str | None, float, float]:
        """(statement, similarity, margin over the next statement); statement None below the thresholds.
        `also`: texts the caller will encode next (the question retrieval searches for), encoded in the same
        model call and so found in the encoder's cache: one wait for the model instead of two."""
        if self.encoder is None:
            return None, 0.0, 0.0
        question = self.encoder.encode([text, *also])[0]
        sims = self._vectors @ question
        best: dict[str, float] = {}
        for (qs, _), sim in zip(self.phrasings, sims):
            best[qs] = max(best.get(qs, -1.0), float(sim))
        if self.centroids:
            best = {qs: 0.5 * s + 0.5 * float(self.centroids[qs] @ question) if qs in self.centroids else s
                    for qs, s in best.items()}
        ranked = sorted(best.items(), key=lambda kv: -kv[1])
        (top, score), (_, second) = ranked[0], ranked[1]
        ok = score >= STATEMENT_MIN_SIMILARITY and score - second >= STATEMENT_MARGIN
        return (top if ok else None), score, score - second


# Words that ask rather than say what about: left out of the text matched against the statements.
_ASKING = re.compile(r"\b(scor(e|es|ed|ing)|rat(ing|ings|ed)|grade[sd]?|cqc|council|councils|adult social care|good|well|"
                     r"badly|get|got|give|gave|do|did|does|doing|how|what|which|is|was|at|for|on|the|a|an)\b", re.I)


def _topic(text: str) -> str:
    """What a question is about, without the words that ask: "What score did get for joining up care?" -> "joining up care"."""
    return re.sub(r"\s+", " ", _ASKING.sub(" ", text)).strip(" ?.!") or text


def _statement_matters(lower: str, kind: str, wants: str | None, named: tuple, previous) -> bool:
    """Whether a statement matched by meaning can change what a search finds (Service.search: the record it
    asks for first, the records composed, the ranking): for a follow-up; when a score or rating is wanted
    (the record, and "How did Blackpool score?" listing its scores); "how good is ... at" (read as asking for
    the score); a comparison or ranking (by that statement), including two councils named with "which"/"or".
    Elsewhere only /api/ask's reply shows it. tests/test_query_encoding.py checks the dev and pool questions'
    search results are the same with and without this shortcut."""
    return previous is not None or wants in ("score", "rating") or bool(_EVALUATIVE.search(lower)) \
        or kind in ("compare", "rank") or len(named) >= 2


_SENTENCE_BREAK = re.compile(r"(?<=[.?!])\s+(?=\w)")


def asking_part(text: str) -> str:
    """The sentences that ask, of a question told with a story ("When my daughter was under 18 she had the police
    involved ... Did other families tell the inspectors about a gap like that?"): those ending in a question mark, and
    the last unless it ends a statement. What kind of question it is, and what it wants, are read there; the story is
    searched with it."""
    sentences = _SENTENCE_BREAK.split(text.strip())
    if len(sentences) == 1:
        return text
    asked = [s for i, s in enumerate(sentences) if s.endswith("?") or (i == len(sentences) - 1 and s[-1] not in ".!")]
    return " ".join(asked) if asked else sentences[-1]


def _first(patterns, text: str) -> str | None:
    return next((name for name, pattern in patterns if pattern.search(text)), None)


class Understander:
    def __init__(self, matcher: CouncilMatcher, gazetteer: CouncilGazetteer, texts: list[str], encoder=None,
                 centroids: dict[str, np.ndarray] | None = None):
        self.matcher = matcher
        self.gazetteer = gazetteer
        names = [w for name in matcher.names for w in _WORD.findall(name)]  # short names and their short forms
        names += [w for town in gazetteer.town_councils for w in _WORD.findall(town)]  # towns: no spelling slip
        self.speller = Speller(texts, names)
        self.statements = StatementMatcher(encoder, centroids)

    def understand(self, question: str, previous: Query | None = None, council: str | None = None,
                   previous_answer: tuple[str, int, int] | None = None, for_search: bool = False) -> Query:
        """`for_search` (/api/search, whose reply shows no Query): the statement is matched by meaning (a second
        text for the model) only where it can change the passages or records found (see `_statement_matters`)."""
        corrected = self.matcher.spell_out(self.speller.correct(question))
        lower = fold_quotes(corrected).lower()
        named = tuple(self.matcher.find(corrected))
        uncovered = tuple(self.gazetteer.not_covered(question)) if not named else ()
        towns = self.gazetteer.towns(question) if not named and not uncovered else []
        if towns:  # "my mum lives near Ipswich": the council providing its adult social care (Suffolk), if covered
            councils = [c for _, c in towns]
            named = tuple(dict.fromkeys(r for c in councils if (r := self.matcher.resolve(c))))
            uncovered = () if named else tuple(dict.fromkeys(councils))
        asks = asking_part(lower)  # the asking sentences of a question asks with a story
        kind = "social" if _SOCIAL.match(lower) else _first(_KIND_RES, asks) or "factual"
        wants = _first(_WANT_RES, asks)
        asked = wants  # what the question itself asks for, before a follow-up takes the previous one's
        if kind == "when":  # "When was Nottingham rated?": a date, not the rating
            wants = "date"
        if kind in FINDINGS_KINDS and wants in _FIGURE_WANTS:
            wants = None  # "what's being done about the long waits?": its findings (the waits are the topic)
        rated_by = (_other_service(asks) or self._another_body(corrected)) if wants in ("rating", "score") \
            else _other_service_judged(asks)
        # a rating or score at another time than the reports' assessment ("Will Blackpool be rated good next time?",
        # "What was its rating in 2019?"); "when will the CQC next inspect?" too
        another_time = None
        # "when were councils last rated before this?", of no council: the reports' history answers it (since 2010)
        when_in_general = kind == "when" and not named and not council and (previous is None or not previous.councils)
        if wants in ("rating", "score") or (kind == "when" and _INSPECTED.search(lower)) or _REASSESSED.search(lower):
            year = _YEAR.search(lower)
            another_time = "later" if _LATER.search(lower) or _REASSESSED.search(lower) \
                else "earlier" if _EARLIER.search(lower) and not when_in_general \
                else year.group(1) if year else None
        if wants in ("rating", "score") and (_REACTION.search(lower) or rated_by or _PROVIDER_RATED.search(lower)):
            wants = None
        if kind == "list" and wants not in ("rating", "score") and not _RATING.search(lower):
            # "Which councils had problems with waiting lists?": findings across councils, not a list of records
            kind = _first([(k, r) for k, r in _KIND_RES if k in ("strengths", "improve")], lower) or kind
        statement, statement_by, sure = self.statements.by_name(corrected), "name", True
        if statement is None and kind not in ("meaning", "list", "overview", "strengths", "improve") \
                and (not for_search or _statement_matters(lower, kind, wants, named, previous)):
            # a new question searches for itself (see `search` below): its vector is made in the same model call
            searched = (corrected,) if previous is None and not council and not same_durations(corrected) else ()
            statement, score, margin = self.statements.by_meaning(_topic(self.matcher.strip(corrected)), searched) \
                if len(tokenize(corrected)) >= 2 else (None, 0.0, 0.0)
            statement_by, sure = "meaning", score >= STATEMENT_SURE[0] and margin >= STATEMENT_SURE[1]
        if statement is None:
            statement_by = None
        if statement and sure and _EVALUATIVE.search(lower) and kind in ("factual", "strengths", "overview") \
                and wants not in _FIGURE_WANTS:  # "How bad was Birmingham's backlog?" asks a size, not a score
            kind, wants = "factual", "score"
        by_rating = False
        rest = re.sub(r"\b(and|or)\b|[,&]", " ", self.matcher.strip(lower)) if named else lower  # beside the names
        if kind == "factual" and named and wants is None and (_ABOUT.match(rest) or (previous is None and _BARE.match(rest))):
            kind = "overview"  # "Tell me about Lincolnshire"
        about_pilot = kind in ("factual", "overview") and not named and bool(_ABOUT_PILOT.match(lower))
        if about_pilot:
            kind = "list"  # the pilot councils, each with its rating and scores
        if kind == "factual" and len(named) >= 2 and re.search(r"\bwhich\b|\bor\b", lower):
            kind = "compare"  # "Which had shorter waiting lists, Lincolnshire or Suffolk?"
        across = bool(_ACROSS.search(lower)) and len(named) != 1
        # "which is better?" compares what the conversation has been about
        talked_over = kind == "compare" and not named and not across and previous is not None and len(previous.mentioned) >= 2
        if kind == "compare" and len(named) < 2 and not across and not talked_over \
                and not (previous is not None and _ANAPHOR.search(lower)):
            kind = "factual"  # "south team vs north shore": two things within one council, not councils
        national = kind == "compare" and not named and bool(_NATIONAL.search(lower))
        if national:  # "how does that compare with England?": the England average, as the reports judge a figure
            kind = "factual"
        # "which one did best?" after the pilot councils were listed: they are ranked
        ranked_over = kind == "compare" and not named and previous is not None and len(previous.mentioned) < 2 \
            and (previous.across or previous.pilot) and bool(_WHICH_OF_THEM.match(lower))
        reranked = previous is not None and previous.kind == "rank" and not named and bool(_ORDER_ONLY.match(lower))
        if ranked_over or reranked:
            kind, talked_over = "rank", False
            across = across or previous.across
        elif not named and previous is not None and len(previous.mentioned) >= 2 and _WHICH_OF_THEM.match(lower):
            kind, talked_over, across = "compare", True, False  # "which one had more scores of 1?"
        words = tokenize(corrected)
        short = len(words) <= SHORT_WORDS and not named and kind in ("factual", "when")  # "by when?", "young carers?"
        short = short or bool(named and _BARE.match(rest))  # "Lancashire?": the previous question, about Lancashire
        follow_up = previous is not None and (bool(_ELLIPTICAL.match(lower)) or short or talked_over or ranked_over
                                              or (kind in FINDINGS_KINDS and bool(_BARE_FINDINGS.match(lower)))
                                              or (bool(_ANAPHOR.search(lower)) and not (named and statement)))
        filtered = (self.matcher.resolve(council),) if council and self.matcher.resolve(council) else ()
        councils = filtered or named
        base = corrected
        if follow_up and kind == "factual" and _OTHERS.search(lower) and previous.kind in ("overview", "compare"):
            kind = "compare"  # "How is Nottingham doing?" then "what about the others?"
        if follow_up:
            if talked_over:  # "How is Nottingham doing?" ... "what about Suffolk?" ... "which is better?"
                councils = previous.mentioned
            elif not councils and (not across or kind == "compare"):  # "is that worse than the others?"
                councils = previous.councils
            elif kind == "compare" and len(named) == 1 and not filtered:  # "is that worse than Blackpool?"
                councils = tuple(dict.fromkeys((*previous.councils, *named)))
            if statement is None and previous.statement:
                statement, statement_by = previous.statement, "conversation"
            # "has it improved?" asks a question of its own about the same thing: not the previous one again
            elliptical = bool(_ELLIPTICAL.match(lower)) or (short and not _YES_NO.match(lower))
            new_statement = statement_by == "name" and statement != previous.statement
            if elliptical and kind == "factual" and wants in (None, "score", "rating"):
                # "and for safeguarding?" after a question about the whole council asks about that statement
                # its kind, if it swaps the council or statement or says nothing new ("what about Lancashire?"), not
                # if it brings a topic of its own ("what's the council doing about that backlog?")
                if named or new_statement or not words:
                    kind = "factual" if new_statement and previous.kind in ("overview", "strengths", "improve") \
                        or (previous.kind == "meaning" and councils) else previous.kind
                # not "who said that?" again, nor a length of time for "what did the council say?"
                # nor what a declined turn asked for ("how many staff?" then "what about the website?")
                declined = previous_answer is None and previous.kind == "factual" and previous.wants in _FIGURE_WANTS \
                    and not named  # ("how many social workers?" then "and Lancashire?" still asks the count)
                wants = wants or (None if previous.attribution or _ASKS_WORDS.search(lower) or declined
                                  else previous.wants)
            if elliptical and kind == "when":  # "by when?": the date of what the previous turn was about
                kind, wants = "factual", "date"
            if kind == "factual" and wants is None and named and previous.kind == "meaning":
                wants = previous.wants  # "What grades can ...?" then "Where does Lancashire sit on that?"
            if kind == "meaning" and wants is None and statement is None and (previous.wants == "rating"
                                                                                or previous.kind == "overview"):
                wants = "rating"  # "Blackpool's rating?" then "what does that mean?": what that rating means
            if wants is None and previous.kind == "meaning" and named:
                wants = "score" if statement else "rating"  # what that statement's score (or the rating) is there
            # what it leans on: the previous question, and, if that was itself short ("Who has to sign off the
            # plan?"), what that one leaned on; a question with words of its own ("who is going to chair the
            # board?") after a bare one ("by when?") leans on what the bare one leaned on
            if len(tokenize(previous.corrected)) > 3 or previous.base == previous.corrected:
                base = previous.corrected
            elif not elliptical and not tokenize(previous.corrected):
                base = previous.base
            else:
                base = f"{previous.corrected} {previous.base}"
            if wants == "reason" and statement is None and councils and kind == "factual" \
                    and (previous.kind in ("overview", "compare", "rank", "list") or previous.wants in ("rating", "score")):
                # "why so low?" after a rating: what the reports found wanting (or, "why so good?", what worked);
                # a bare "why?": for each council, the side of its own rating
                praised = bool(_HIGH.search(lower) or _PRAISE.search(lower))
                kind = "strengths" if praised else "improve"
                by_rating = not (praised or _FAULT.search(lower))
        elif previous is not None and not named and not across and not filtered:
            councils = previous.councils  # a new question in the conversation keeps its council ("carers there")
        judged = wants == "reason" and kind == "factual" and not follow_up and bool(councils) \
            and bool(_JUDGED.search(lower)) and not _REACTION.search(lower)
        # "why so low?" after a statement's score: the reasons for the score; after a share or a wait, for that figure
        judged_before = wants == "reason" and follow_up and statement is not None and (
            previous.wants in ("score", "rating") or previous.kind == "list" or previous.judged
            or bool(_SCORE_WORD.search(lower)))
        if judged and statement is not None and not sure:
            statement = statement_by = None  # a guess from the words "requires improvement" is no statement named
        if judged and statement is None:  # "Why was Blackpool rated inadequate?": its findings, the side of its rating
            praised = bool(_HIGH.search(lower) or _PRAISE.search(lower))
            kind = "strengths" if praised else "improve"
            by_rating = not (praised or _FAULT.search(lower))
        # the reasons for a rating are found by what they are about, not by the rating's words (which only find it stated)
        search = _SPACES.sub(" ", _JUDGED.sub(" ", fold_quotes(corrected).lower())).strip() \
            if judged and statement is None else corrected
        # a follow-up that brings a topic of its own ("what about the autism team?" after the waits for assessments)
        # is about that topic: its words count three times against the previous question's once (in BM25 and the
        # answer picker's word overlap, where a repeated term counts again, and in what is embedded). Twice was not
        # enough for "what about young carers?" after two questions on carers' satisfaction
        own = set(tokenize(self.matcher.strip(corrected)))  # (stop words, "what about", are no terms)
        # ... but "and the longest wait?" after "how many were waiting?" asks another figure of the same thing (which
        # the previous answer may hold: "more than 2,000 people were still waiting ..., some up to 226 days")
        shifted = follow_up and bool(_ELLIPTICAL.match(lower)) and bool(
            own - {t for w in (*previous.topic, previous.corrected) for t in tokenize(w)}) \
            and not (asked in _FIGURE_WANTS and asked != previous.wants)
        # the previous question asked of another council ("what about Lancashire?"): answered only by what that
        # council's reports say of the same thing
        swapped = follow_up and bool(named) and set(named) != set(previous.councils) and not shifted \
            and kind == "factual" and (bool(_ELLIPTICAL.match(lower)) or bool(_BARE.match(rest)))
        if follow_up:
            own_words = " ".join([corrected] * (3 if shifted else 1))
            search = f"{own_words} {self._without_councils(base) if named else base}"
        search += "".join(f" {same}" for same in same_durations(corrected) if same not in search)
        # the reports' own words for its everyday ones ("challenged" its ratings: "requested a review"), those it lacks
        have = set(tokenize(search))
        search += "".join(f" {w}" for words in cqc.report_words(corrected) for w in words.split()
                          if not set(tokenize(w)) <= have)
        reworded = tuple(dict.fromkeys((corrected[start:end], words) for start, end, words in cqc.worded(corrected)))
        if follow_up and (_JUDGING.match(lower) or national) and not named and not across:
            # "is that low?" (not "is that worse than Blackpool?"): the reports judge a figure against England's
            search += f" {cqc.BENCHMARK_WORDS}"
        if wants == "council_said":  # "what did their councillor say?": the articles' "Cllr ..., cabinet member ..., said"
            search += f" {cqc.SPOKESPERSON_WORDS}"
        for name in councils:
            if name not in self.matcher.find(search):
                search += f" {short_name(name)}"
        if kind == "factual" and wants == "score" and statement is None and len(councils) == 1 and not follow_up:
            kind = "list"  # "How did Blackpool score?": its scores, listed
        order = "high" if _HIGH.search(lower) else "low" if _LOW.search(lower) or (kind == "compare" and _WORSE.search(lower)) \
            else None
        rating = _RATING.search(lower)
        value = _SCORE_VALUE.search(lower)
        value = int(next(g for g in value.groups() if g)) if value else None
        counted = _COUNTED.search(lower)
        # its topic: its words but those that say what kind of question it is, which councils, or how to ask
        asking = " ".join(m.group(0) for r in (*(r for _, r in _KIND_RES), _ACROSS, _PILOT) for m in r.finditer(lower))
        skip = set(tokenize(asking)) | {"council", "cqc"}
        topic = tuple(dict.fromkeys(w for w in _WORD.findall(self.matcher.strip(corrected).lower())
                                    if (stems := tokenize(w)) and stems[0] not in skip))
        if follow_up:  # "is that a lot?" is about what the previous question was about
            topic = tuple(dict.fromkeys((*topic, *previous.topic)))
        if kind == "factual" and across and not named and _WHICH_COUNCIL.match(lower):
            kind = "list"  # "Which council had no waiting lists?"
        all_scored = bool(_ALL_SCORED.search(lower))
        if kind in ("factual", "list") and across and not named and value and (statement or all_scored):
            kind, wants = "list", "score"  # "Which councils scored 1 for safeguarding?", "what councils got all 3s"
        if kind == "rank" and across and not named and _off_record(topic) and not (statement and sure):
            kind = "list"  # "Which council has the most people waiting?": not ranked by rating, but by what the reports say
        # a list of councils by what the reports say of them on a topic, not by their records ("Which councils were
        # rated good?") or by which the reports cover ("Which councils are in the pilot?")
        across_findings = kind == "list" and across and not named and wants not in ("rating", "score") and not about_pilot \
            and not _RATING.search(lower) and not _COVERAGE.search(lower) and bool(topic)
        pilot = bool(_PILOT.search(lower)) or ((ranked_over or reranked) and previous.pilot)
        if _HOW_MANY_COUNCILS.search(lower) and (rating or wants == "rating" or pilot or _COVERAGE.search(lower)) \
                and not named:
            kind, counted_as = "list", "councils"  # "How many councils were rated good?": counted from their records
        else:
            counted_as = " ".join(counted.group(1).split()[:2]) if counted \
                else "people" if re.search(_POPULATION_ASKED, lower) else None
        return Query(text=question, corrected=corrected, search=search, councils=tuple(councils), named=named,
                     uncovered=uncovered, statement=statement, theme=cqc.theme_of(statement) if statement else cqc.theme_named(lower),
                     statement_by=statement_by, kind=kind, wants=wants, follow_up=follow_up, across=across,
                     order=order, rating=rating.group(1).capitalize() if rating else None,
                     pilot=pilot, score_value=value, base=base,
                     previous_answer=previous_answer if follow_up else None, topic=topic,
                     more=follow_up and bool(_MORE.match(lower)), shifted=shifted, swapped=swapped,
                     counted=counted_as,
                     role=role.group(1) if (role := _ROLE.search(lower)) else None,
                     opinions=bool(_OPINIONS.search(lower)),
                     keywords=not _QUESTION.search(lower), rated_by=rated_by, another_time=another_time,
                     attribution=follow_up and bool(_WHO_SAID.search(lower)), by_rating=by_rating,
                     judged=judged or judged_before, across_findings=across_findings,
                     mentioned=tuple(dict.fromkeys((*(c for c in (previous.mentioned if previous else ())
                                                       if c not in councils), *councils))),
                     extreme=wants in ("duration", "number", "size", "amount") and bool(_EXTREME.search(lower)),
                     all_scored=all_scored, places=tuple(town for town, _ in towns),
                     reworded=reworded)

    def _another_body(self, text: str) -> str | None:
        """The name before the rating or score asked for, if the reports never use it ("Blackpool's Ofsted rating"):
        another body's, not the CQC's. A name: capitalised, or no English word ("the bottom grade" is the CQC's)."""
        return next((word for m in _RATED_BY.finditer(self.matcher.strip(fold_quotes(text)))
                     if (word := m.group(1)).lower() not in self.speller.corpus and word.lower() not in STOPWORDS
                     and (word[0].isupper() or word.lower() not in self.speller.english)), None)

    def _without_councils(self, text: str) -> str:
        return self.matcher.strip(text)


_DURATION = re.compile(r"\b(\d+|" + "|".join(NUMBER_WORDS) + r")[- ](days?|weeks?)\b", re.I)


def same_durations(text: str) -> list[str]:
    """The same spans of time in the other unit the reports use: "four weeks" is "28 days", "42 days" "6 weeks"."""
    out = []
    for m in _DURATION.finditer(text):
        n = int(m.group(1)) if m.group(1).isdigit() else NUMBER_WORDS[m.group(1).lower()]
        if m.group(2).lower().startswith("week"):
            out.append(f"{n * 7} days")
        elif n % 7 == 0 and n:
            out.append(f"{n // 7} week{'s' if n > 7 else ''}")
    return out


def statement_centroids(index) -> dict[str, np.ndarray]:
    """Each quality statement's centroid: the mean vector of the assessment passages reported under it."""
    if index.vectors is None:
        return {}
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(index.passages):
        statement = next((s for s in map(cqc.quality_statement, p.section) if s), None)
        if statement and index.documents[p.doc_id].kind == "assessment":
            rows.setdefault(statement, []).append(i)
    out = {}
    for statement, ids in rows.items():
        mean = np.mean([index.vectors.reconstruct(i) for i in ids], axis=0)
        out[statement] = mean / (np.linalg.norm(mean) or 1.0)
    return out
