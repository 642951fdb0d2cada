"""Parse a rule query into a ``Query`` tree (see docs/rules.md for the language).

Grammar, loosest first (so precedence is NEAR > NOT > AND > OR)::

    or    := and ("OR" and)*
    and   := not (["AND"] not)*                  # juxtaposition is AND
    not   := ("NOT" | "-") not | near
    near  := unit ("NEAR/n" unit)*
    unit  := [field ":"] ( "(" or ")" | word | word* | "phrase" | @entity )

Every problem raises ``QueryError`` with a message that names the 1-based column inside the
query, ready to follow ``config.yaml:41:23: rules[3].query: ``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.errors import MonitorError
from monitor.matching.nodes import And, Entity, Near, Node, Not, Or, Query, Term, leaves_of
from monitor.matching.text import terms_of

FIELD_NAMES = ("title", "text")
_NEAR = re.compile(r"NEAR/(\d+)")
_OPERAND_START = frozenset({"WORD", "PHRASE", "ENTITY", "FIELD", "(", "NOT", "-"})
MIN_PREFIX = 2


class QueryError(MonitorError, ValueError):
    """A query that cannot run; ``str()`` is the message with its column."""

    def __init__(self, message: str, column: int) -> None:
        self.message = message
        self.column = column
        super().__init__(message)

    @classmethod
    def at(cls, reason: str, column: int) -> QueryError:
        return cls(f"{reason} at column {column}", column)


@dataclass(frozen=True, slots=True)
class _Tok:
    kind: str  # WORD PHRASE ENTITY FIELD ( ) AND OR NOT - NEAR END
    text: str
    column: int
    distance: int = 0


def _lex(text: str) -> list[_Tok]:
    toks: list[_Tok] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        col = i + 1
        if c.isspace():
            i += 1
        elif c in "()":
            toks.append(_Tok(c, c, col))
            i += 1
        elif c == '"':
            end = text.find('"', i + 1)
            if end < 0:
                raise QueryError.at("unclosed quote", col)
            toks.append(_Tok("PHRASE", text[i + 1 : end], col))
            i = end + 1
        elif c == "-" and (i + 1 == n or text[i + 1].isspace() or text[i + 1] == ")"):
            raise QueryError.at("- needs a term right after it", col)
        elif c == "-" and (not toks or toks[-1].kind != "FIELD"):
            toks.append(_Tok("-", c, col))
            i += 1
        else:
            j = i
            while j < n and not text[j].isspace() and text[j] not in '()"':
                j += 1
            word = text[i:j]
            head, colon, rest = word.partition(":")
            if colon and head.lower() in FIELD_NAMES:
                if not rest and (j == n or text[j].isspace() or text[j] == ")"):
                    raise QueryError.at(f"{word} needs a term right after it", col)
                toks.append(_Tok("FIELD", head.lower(), col))
                i += len(head) + 1
                continue
            toks.append(_word_token(word, col))
            i = j
    toks.append(_Tok("END", "", n + 1))
    return toks


def _word_token(word: str, col: int) -> _Tok:
    if word in ("AND", "OR", "NOT"):
        return _Tok(word, word, col)
    if word == "NEAR" or word.startswith("NEAR/"):
        m = _NEAR.fullmatch(word)
        if not m:
            raise QueryError(f"{word} at column {col} needs a distance, such as NEAR/5", col)
        return _Tok("NEAR", word, col, int(m.group(1)))
    if word.startswith("@"):
        if len(word) == 1:
            raise QueryError.at("@ needs an entity name", col)
        return _Tok("ENTITY", word, col)
    return _Tok("WORD", word, col)


class _Parser:
    def __init__(self, text: str, entities: Mapping[str, Sequence[str]] | None) -> None:
        self.text = text
        self.toks = _lex(text)
        self.i = 0
        self.entities = entities

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect_operand(self, op: _Tok) -> None:
        if self.peek().kind not in _OPERAND_START:
            raise QueryError.at(f"{op.text} needs a term after it", op.column)

    def parse(self) -> Node:
        if self.peek().kind == "END":
            raise QueryError("the query is empty", 1)
        node = self.parse_or(None)
        tok = self.peek()
        if tok.kind == ")":
            raise QueryError.at("unbalanced parenthesis", tok.column)
        if tok.kind != "END":  # a NEAR or operator that cannot start a term
            raise QueryError.at(f"{tok.text} needs a term before it", tok.column)
        return node

    def parse_or(self, field: str | None) -> Node:
        items = [self.parse_and(field)]
        while self.peek().kind == "OR":
            self.expect_operand(self.take())
            items.append(self.parse_and(field))
        return items[0] if len(items) == 1 else Or(tuple(items), _col(items[0]))

    def parse_and(self, field: str | None) -> Node:
        items = [self.parse_not(field)]
        while self.peek().kind == "AND" or self.peek().kind in _OPERAND_START:
            if self.peek().kind == "AND":
                self.expect_operand(self.take())
            items.append(self.parse_not(field))
        return items[0] if len(items) == 1 else And(tuple(items), _col(items[0]))

    def parse_not(self, field: str | None) -> Node:
        tok = self.peek()
        if tok.kind in ("NOT", "-"):
            self.take()
            self.expect_operand(tok)
            return Not(self.parse_not(field), tok.column)
        return self.parse_near(field)

    def parse_near(self, field: str | None) -> Node:
        node = self.parse_unit(field)
        while self.peek().kind == "NEAR":
            op = self.take()
            if self.peek().kind not in _OPERAND_START - {"NOT", "-"}:
                raise QueryError.at(f"{op.text} needs a term after it", op.column)
            right = self.parse_unit(field)
            for side in (node, right):
                if not _near_operand(side):
                    raise QueryError(
                        f"{op.text} at column {op.column} joins only terms, phrases, "
                        "@entities and (… OR …) groups, not AND or NOT",
                        op.column,
                    )
            node = Near(node, right, op.distance, _col(node))
        return node

    def parse_unit(self, field: str | None) -> Node:
        tok = self.take()
        prefix = ""
        if tok.kind == "FIELD":
            field, prefix = tok.text, f"{tok.text}:"
            tok = self.take()
        if tok.kind == "(":
            if self.peek().kind == ")":
                raise QueryError.at("empty parentheses", tok.column)
            node = self.parse_or(field)
            if self.peek().kind != ")":
                raise QueryError.at("unbalanced parenthesis", tok.column)
            self.take()
            return node
        if tok.kind in ("WORD", "PHRASE"):
            return self.term(tok, field, prefix)
        if tok.kind == "ENTITY":
            return self.entity(tok, field, prefix)
        if tok.kind == ")":
            raise QueryError.at("unbalanced parenthesis", tok.column)
        raise QueryError.at(f"{tok.text} needs a term before it", tok.column)

    def term(self, tok: _Tok, field: str | None, prefix: str) -> Term:
        raw = tok.text.strip()
        spelled = f'"{tok.text}"' if tok.kind == "PHRASE" else tok.text
        is_prefix = raw.endswith("*")
        body = raw[:-1] if is_prefix else raw
        if "*" in body:
            raise QueryError.at("* is allowed only at the end of a word or phrase", tok.column)
        parts = tuple(terms_of(body))
        if not parts:
            what = "empty phrase" if not raw else f"{spelled} has no letters or digits to match"
            raise QueryError.at(what, tok.column)
        if is_prefix and len(parts[-1]) < MIN_PREFIX:
            raise QueryError.at(f"{spelled} is too short a prefix", tok.column)
        column = tok.column - len(prefix)
        return Term(parts, is_prefix, field, prefix + spelled, column)

    def entity(self, tok: _Tok, field: str | None, prefix: str) -> Entity:
        name = tok.text[1:]
        column = tok.column - len(prefix)
        if self.entities is None:
            return Entity(name, (), field, prefix + tok.text, column)
        aliases = self.entities.get(name)
        if aliases is None:
            folded = {key.casefold(): key for key in self.entities}
            key = folded.get(name.casefold())
            if key is None:
                raise QueryError.at(f"unknown entity {tok.text}", tok.column)
            name, aliases = key, self.entities[key]
        entity = resolve_entity(name, aliases, field, prefix + tok.text, column)
        if not entity.aliases:
            raise QueryError.at(f"entity {tok.text} has no alias to match", tok.column)
        return entity


def resolve_entity(
    name: str, aliases: Sequence[str], field: str | None = None, source: str = "", column: int = 0
) -> Entity:
    """The ``Entity`` leaf for ``@name``: each alias with letters or digits, as a phrase."""
    terms = (Term(tuple(terms_of(alias)), False, field, alias) for alias in aliases)
    unique = tuple(dict.fromkeys(t for t in terms if t.parts))
    return Entity(name, unique, field, source or f"@{name}", column)


def _col(node: Node) -> int:
    return node.column


def _near_operand(node: Node) -> bool:
    if isinstance(node, Or):
        return all(_near_operand(child) for child in node.children)
    return isinstance(node, Term | Entity | Near)


def _negation_alone(node: Node) -> Not | None:
    """The NOT that lets ``node`` match an article holding none of its terms, if any."""
    if isinstance(node, Not):
        return node
    if isinstance(node, And):
        found = [_negation_alone(child) for child in node.children]
        return found[0] if all(found) else None
    if isinstance(node, Or):
        return next((n for n in map(_negation_alone, node.children) if n), None)
    return None


def _contradiction(node: Node) -> Node | None:
    """A term required both with and without NOT in the same AND, if any."""
    if isinstance(node, And):
        wanted = {child for child in node.children if not isinstance(child, Not)}
        for child in node.children:
            if isinstance(child, Not) and child.child in wanted:
                return child
        return next((c for c in map(_contradiction, node.children) if c), None)
    if isinstance(node, Or):
        found = [_contradiction(child) for child in node.children]
        return found[0] if all(found) else None
    if isinstance(node, Near):
        return _contradiction(node.left) or _contradiction(node.right)
    return None


def parse_query(text: str, entities: Mapping[str, Sequence[str]] | None = None) -> Query:
    """Parse ``text``; ``entities`` (name → aliases) resolves ``@name`` (unchecked if None)."""
    root = _Parser(text, entities).parse()
    lonely = _negation_alone(root)
    if lonely is not None:
        if lonely is root or all(isinstance(c, Not) for c in getattr(root, "children", ())):
            raise QueryError(
                "this rule matches every article: NOT alone has nothing to match "
                f"(column {lonely.column})",
                lonely.column,
            )
        raise QueryError(
            "this rule matches articles that hold none of its terms: the NOT at column "
            f"{lonely.column} needs a term beside it joined by AND, not OR",
            lonely.column,
        )
    clash = _contradiction(root)
    if clash is not None:
        raise QueryError(
            "this rule can never match: it asks for a term and for NOT the same term "
            f"(column {clash.column})",
            clash.column,
        )
    return Query(text, root, tuple(leaves_of(root)))
