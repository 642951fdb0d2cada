"""Watch rules: the query language, the compiled matcher, evidence and novelty.

``parse_query`` checks a query; ``RuleIndex.compile`` (or ``RuleIndex.from_config``) builds
the matcher once per config; ``RuleIndex.match(Document)`` returns ``Match`` records with
their evidence; ``RuleIndex.decide_novelty`` settles novelty rules against the stored history.
The rule language is described in docs/rules.md.
"""

from monitor.matching.index import RuleIndex
from monitor.matching.novelty import NoveltyDecision, Sighting, decide, novelty_keys
from monitor.matching.query import QueryError, parse_query
from monitor.matching.text import normalize, terms_of, tokenize
from monitor.model import Document, Hit, Match, Snippet

__all__ = [
    "Document",
    "Hit",
    "Match",
    "NoveltyDecision",
    "QueryError",
    "RuleIndex",
    "Sighting",
    "Snippet",
    "decide",
    "normalize",
    "novelty_keys",
    "parse_query",
    "terms_of",
    "tokenize",
]
