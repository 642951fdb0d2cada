"""The language of a page: what its markup declares, else a guess from the text.

The guess is deliberately small: frequent function words of a few European languages, and
the script for Arabic, Hebrew and Greek. It answers only when the evidence is clear, and None
otherwise (a rule filtered by language then does not fire on a guess).
"""

from __future__ import annotations

import re
from collections import Counter

from lxml.html import HtmlElement

from monitor.articles.metadata import json_ld, meta_values

_LANG = re.compile(r"([a-zA-Z]{2,3})(?:[-_][\w-]*)?")
_NOT_LANGUAGES = frozenset({"und", "mul", "zxx"})
_STOPWORDS = {
    "en": "the of and to in is that for it was on with as are by this be from have at",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein eine als",
    "fr": "le la les de des et un une du est en que qui dans pour pas sur au avec",
    "es": "el la de que y en los del se las por un para con una su al lo como",
    "it": "il di che la e per un del della una non sono le si con da gli alla al",
    "pt": "o de que e do da em um para com não uma os no se na por mais as dos",
    "nl": "de het een van en in is dat op te zijn voor met die niet aan er ook",
}
_WORDS = {lang: frozenset(words.split()) for lang, words in _STOPWORDS.items()}
_SCRIPTS = (("ar", re.compile(r"[\u0600-\u06ff]")), ("he", re.compile(r"[\u0590-\u05ff]")),
            ("el", re.compile(r"[\u0370-\u03ff]")))  # fmt: skip
_TOKEN = re.compile(r"[^\W\d_]+")
MIN_EVIDENCE = 20
"""Function-word hits needed before a guess is made."""


def declared_language(tree: HtmlElement) -> str | None:
    """The language the page declares (ISO 639 code, lower case), or None."""
    meta = meta_values(tree)
    declared = [tree.get("lang"), tree.get("{http://www.w3.org/XML/1998/namespace}lang")]
    for elem in tree.iterfind(".//meta[@http-equiv]"):
        if (elem.get("http-equiv") or "").lower() == "content-language":
            declared.append(elem.get("content"))
    declared += [meta.get("language"), meta.get("dc.language"), meta.get("og:locale")]
    declared += [str(i["inLanguage"]) for i in json_ld(tree) if "inLanguage" in i]
    for value in declared:
        match = _LANG.fullmatch((value or "").strip().split(",")[0].strip())
        if match and match[1].lower() not in _NOT_LANGUAGES:
            return match[1].lower()
    return None


def guess_language(text: str) -> str | None:
    """A language code when ``text`` clearly is in one of the few languages known, else None."""
    tokens = _TOKEN.findall(text[:5000])
    for code, script in _SCRIPTS:
        if sum(1 for t in tokens if script.match(t)) > len(tokens) / 2:
            return code
    words = Counter(t.casefold() for t in tokens)
    scores = sorted(
        ((sum(words[w] for w in stop), lang) for lang, stop in _WORDS.items()), reverse=True
    )
    (best, lang), (second, _) = scores[0], scores[1]
    return lang if best >= MIN_EVIDENCE and best >= 1.5 * second else None
