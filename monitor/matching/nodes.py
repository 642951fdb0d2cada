"""The syntax tree of a parsed rule query.

Leaves are ``Term`` (a word, a prefix, or a phrase: consecutive tokens whose last one may be a
prefix) and ``Entity`` (``@name``: any of its aliases, each a phrase). Inner nodes are
``And``, ``Or``, ``Not`` and ``Near``. Nodes compare by meaning: the spelling and column of
a term are carried for messages and evidence but ignored by ``==`` and ``hash``.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as attr


@dataclass(frozen=True, slots=True)
class Term:
    """Consecutive tokens ``parts`` in ``field`` (None: title or text); ``prefix``: the last
    part only has to start a token."""

    parts: tuple[str, ...]
    prefix: bool = False
    field: str | None = None
    source: str = attr(default="", compare=False)
    column: int = attr(default=0, compare=False)
    _hash: int = attr(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:  # leaves are dictionary keys on the hot path
        object.__setattr__(self, "_hash", hash((self.parts, self.prefix, self.field)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[object, ...]:  # rebuilt, so the hash suits the new process
        return (Term, (self.parts, self.prefix, self.field, self.source, self.column))


@dataclass(frozen=True, slots=True)
class Entity:
    """``@name``: any alias of the entity, each alias a phrase (``aliases`` empty until the
    entities are known)."""

    name: str
    aliases: tuple[Term, ...] = ()
    field: str | None = None
    source: str = attr(default="", compare=False)
    column: int = attr(default=0, compare=False)
    _hash: int = attr(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_hash", hash((self.name, self.aliases, self.field)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[object, ...]:
        return (Entity, (self.name, self.aliases, self.field, self.source, self.column))


@dataclass(frozen=True, slots=True)
class And:
    children: tuple[Node, ...]
    column: int = attr(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Or:
    children: tuple[Node, ...]
    column: int = attr(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Not:
    child: Node
    column: int = attr(default=0, compare=False)


@dataclass(frozen=True, slots=True)
class Near:
    """Both sides occur in the same field, at most ``distance`` tokens apart, in either order."""

    left: Node
    right: Node
    distance: int
    column: int = attr(default=0, compare=False)


Leaf = Term | Entity
Node = Term | Entity | And | Or | Not | Near


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: its text, tree, and its leaves in the order they appear."""

    text: str
    root: Node
    leaves: tuple[Leaf, ...]

    def positive_leaves(self) -> tuple[Leaf, ...]:
        """The leaves that are not under a NOT, in query order, without repeats."""
        found: dict[Leaf, None] = {}
        _collect(self.root, found)
        order = {leaf: i for i, leaf in reversed(list(enumerate(self.leaves)))}
        return tuple(sorted(found, key=lambda leaf: order.get(leaf, 0)))


def _collect(node: Node, found: dict[Leaf, None]) -> None:
    if isinstance(node, Term | Entity):
        found.setdefault(node, None)
    elif isinstance(node, And | Or):
        for child in node.children:
            _collect(child, found)
    elif isinstance(node, Near):
        _collect(node.left, found)
        _collect(node.right, found)


def leaves_of(node: Node) -> list[Leaf]:
    """Every leaf under ``node`` (negated ones included), left to right."""
    if isinstance(node, Term | Entity):
        return [node]
    if isinstance(node, Not):
        return leaves_of(node.child)
    if isinstance(node, Near):
        return leaves_of(node.left) + leaves_of(node.right)
    return [leaf for child in node.children for leaf in leaves_of(child)]
