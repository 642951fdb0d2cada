"""The rule language, table-driven: one row per behaviour a rule writer relies on."""

from __future__ import annotations

import pytest

from monitor.config.schema import Rule
from monitor.matching.index import RuleIndex
from monitor.matching.text import normalize, terms_of
from monitor.model import Document

ENTITIES = {
    "hamas": ["Hamas", "حماس", "Islamic Resistance Movement"],
    "hayeh": ["Khalil al-Hayeh"],
    "iran": ["Iran", "إيران"],
}


def matches(query: str, text: str, title: str = "") -> bool:
    index = RuleIndex.compile([Rule(name="r", query=query)], ENTITIES)
    return bool(index.match(Document(title=title, text=text)))


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("Hamas' re-establishing", ["hamas", "re", "establishing"]),
        ("Khalil al-Hayeh", ["khalil", "al", "hayeh"]),
        (
            "Ḥamās in Düsseldorf, São Paulo, Łódź",
            ["hamas", "in", "dusseldorf", "sao", "paulo", "lodz"],
        ),
        ("STRASSE Straße", ["strasse", "strasse"]),
        ("cafe\u0301 café", ["cafe", "cafe"]),  # decomposed and precomposed
        ("ﬁnance ＡＢＣ", ["finance", "abc"]),  # NFKC: ligature, full-width letters
        ("حَمَاس ـحـماس", ["حماس", "حماس"]),  # Arabic diacritics and tatweel removed
        ("أحمد إيران آمن ٱلله", ["احمد", "ايران", "امن", "الله"]),  # alef forms unified
        ("٢٠٢٢ ۲۰۲۲", ["2022", "2022"]),  # Arabic-Indic digits
        ("हिन्दी समाचार", ["हिन्दी", "समाचार"]),  # vowel signs stay in the word
        ("snake_case U.S. 9/11", ["snake", "case", "u", "s", "9", "11"]),
        ("", []),
    ],
)
def test_normalisation_and_tokens(text: str, tokens: list[str]) -> None:
    assert terms_of(text) == tokens


def test_query_terms_and_text_take_the_same_road() -> None:
    assert terms_of("Al-Hayeh") == terms_of("al-Hayeh") == terms_of("AL HAYEH")
    assert normalize("İstanbul").startswith("i")


CASES = [
    # words match whole tokens, whatever the case and accents
    ("hamas", "Hamas officials visited", True),
    ("hamas", "HAMAS' leaders", True),
    ("hamas", "Hamasnik is not a token match", False),
    ("damascus", "in Damascus’ support", True),
    ("dusseldorf", "Fortuna Düsseldorf won", True),
    ("Düsseldorf", "fortuna dusseldorf won", True),
    # prefixes
    ("syri*", "the Syrian government", True),
    ("syri*", "in Syria", True),
    ("syri*", "Assyria", False),
    ("re-estab*", "Hamas' re-establishing of a base", True),
    # phrases: consecutive tokens, punctuation in between does not matter
    ('"axis of resistance"', "the Iran-led “axis of resistance”", True),
    ('"axis of resistance"', "the axis, of resistance!", True),
    ('"axis of resistance"', "the axis of the resistance", False),
    ('"resistance axis"', "axis of resistance", False),
    ('"Al-Hayeh"', "Khalil al-Hayeh said", True),
    ("Al-Hayeh", "Khalil al Hayeh said", True),
    ("Al-Hayeh", "al-Hayeh's deputy", True),
    ('"iran led"', "Iran-led", True),
    ('"axis of resist*"', "axis of resistance", True),
    # AND, implicit AND
    ("hamas AND damascus", "Hamas in Damascus", True),
    ("hamas AND damascus", "Hamas in Gaza", False),
    ("hamas damascus", "Damascus welcomed Hamas", True),
    ("hamas damascus", "Damascus alone", False),
    # OR
    ("hamas OR hezbollah", "Hezbollah said", True),
    ("hamas OR hezbollah", "Nobody said", False),
    # NOT and -
    ("hamas NOT gaza", "Hamas in Damascus", True),
    ("hamas NOT gaza", "Hamas in Gaza", False),
    ("hamas -gaza", "Hamas in Gaza", False),
    ("hamas -gaza", "Hamas in Syria", True),
    ("hamas -(gaza OR israel)", "Hamas and Israel", False),
    ("hamas NOT NOT gaza", "Hamas in Gaza", True),
    # lower-case and/or/not are words, not operators; so are words that start like one
    ("NEARBY ORBIT", "the nearby orbit", True),
    ("hamas and", "Hamas and Iran", True),
    ("hamas and", "Hamas, Iran", False),
    # precedence: NOT > AND > OR
    ("hamas OR hezbollah damascus", "Hamas in Gaza", True),  # hamas OR (hezbollah AND damascus)
    ("hamas OR hezbollah damascus", "Hezbollah in Beirut", False),
    ("(hamas OR hezbollah) damascus", "Hamas in Gaza", False),
    ("(hamas OR hezbollah) damascus", "Hezbollah in Damascus", True),
    ("NOT gaza hamas", "Hamas in Gaza", False),  # (NOT gaza) AND hamas
    ("NOT gaza hamas", "Hamas in Syria", True),
    ("hamas NOT gaza OR iran", "Gaza and Iran", True),  # (hamas AND NOT gaza) OR iran
    ("hamas AND NOT gaza OR iran", "Hamas in Gaza", False),
    # NEAR/n: at most n tokens between, either order, same field
    ("hamas NEAR/2 damascus", "Hamas was in Damascus", True),  # 2 between
    ("hamas NEAR/2 damascus", "Hamas was back in Damascus", False),  # 3 between
    ("hamas NEAR/3 damascus", "Hamas was back in Damascus", True),
    ("hamas NEAR/3 damascus", "Damascus was host to Hamas", True),  # other order, 3 between
    ("hamas NEAR/2 damascus", "Damascus was host to Hamas", False),
    ("hamas NEAR/0 damascus", "Hamas Damascus", True),
    ("hamas NEAR/0 damascus", "Damascus, Hamas", True),
    ("hamas NEAR/0 damascus", "Hamas in Damascus", False),
    ('"militant hamas" NEAR/1 group', "the militant Hamas group", True),
    ("(hamas OR hezbollah) NEAR/1 damascus", "Hezbollah in Damascus", True),
    ("hamas NEAR/1 damascus NEAR/1 visit", "Hamas, Damascus visit", True),
    ("hamas NEAR/1 hamas", "Hamas and Hamas", True),
    ("hamas NEAR/1 hamas", "Hamas and others", False),
    # fields
    ("title:hamas", "Hamas everywhere in the text", False),
    ("text:hamas", "Hamas everywhere in the text", True),
    ('title:"back in damascus"', "nothing", False),
    ("title:(hamas OR iran) damascus", "Damascus", False),
    # entities: any alias, each a phrase, in any script
    ("@hamas", "the Islamic Resistance Movement said", True),
    ("@hamas", "the Islamic movement of resistance", False),
    ("@hamas", "قالت حَمَاس", True),
    ("@iran", "زار ايران", True),
    ("@hayeh", "Khalil al-Hayeh spoke", True),
    ("@hayeh", "Khalil spoke to al-Hayeh", False),
    ("@hamas NEAR/3 @iran", "Hamas is backed by Iran", True),
    # Arabic and accented queries
    ("حماس", "قالت حَمَاس", True),
    ("إيران", "في ايران", True),
    ("São", "in Sao Paulo", True),
]


@pytest.mark.parametrize(("query", "text", "expected"), CASES)
def test_operator_table(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


TITLE_CASES = [
    ("title:hamas", "Hamas back in Damascus", "nothing here", True),
    ("text:hamas", "Hamas back in Damascus", "nothing here", False),
    ("hamas", "Hamas back in Damascus", "nothing here", True),
    ('title:"back in damascus"', "Hamas back in Damascus", "", True),
    ("title:(hamas OR iran) damascus", "Iran", "Damascus", True),
    ("title:hamas text:damascus", "Hamas", "Damascus", True),
    ("title:hamas text:damascus", "Damascus", "Hamas", False),
    # no phrase or NEAR spans the title/body boundary
    ('"hamas damascus"', "Militant Hamas", "Damascus welcomed them", False),
    ("hamas NEAR/5 damascus", "Militant Hamas", "Damascus welcomed them", False),
    ("hamas NEAR/5 damascus", "Hamas in Damascus", "", True),
]


@pytest.mark.parametrize(("query", "title", "text", "expected"), TITLE_CASES)
def test_fields(query: str, title: str, text: str, expected: bool) -> None:
    assert matches(query, text, title=title) is expected


def test_terms_report_the_query_spelling_in_query_order() -> None:
    index = RuleIndex.compile(
        [Rule(name="r", query='Damascus AND (@hamas OR "Al-Hayeh") AND syri* -gaza')], ENTITIES
    )
    (match,) = index.match(Document("", "Al-Hayeh of Hamas met Syrian officials in Damascus."))
    assert match.terms == ("Damascus", "@hamas", '"Al-Hayeh"', "syri*")
    by_term = {h.term: (h.field, h.start, h.end) for h in match.hits}
    assert by_term['"Al-Hayeh"'] == ("text", 0, 2)
    assert by_term["syri*"] == ("text", 5, 6)


def test_terms_of_a_branch_that_failed_do_not_fire() -> None:
    index = RuleIndex.compile([Rule(name="r", query="iran OR (hamas NEAR/1 damascus)")], {})
    (match,) = index.match(Document("", "Iran said Hamas would one day return to Damascus."))
    assert match.terms == ("iran",)
