"""Reading config.yaml: YAML 1.2 text → plain Python data plus the position of every value.

ruamel.yaml composes the node graph (which keeps marks); this module builds the data from
it so that nothing is lost: ``NO``/``yes``/``on`` stay strings (YAML 1.2 core schema),
timestamps stay text, merge keys (``<<``) and anchors work, every duplicate key is reported
(not only the first) and the first value is kept so validation can go on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from monitor.config.locate import KeyPath, Location, Problem

_TAG = "tag:yaml.org,2002:"
_TEXT_TAGS = {_TAG + "str", _TAG + "timestamp"}
_CONSTRUCTED_TAGS = {_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"}
MAX_VALUES = 100_000  # anchors can expand exponentially ("billion laughs")


@dataclass
class SourceTree:
    """The data of a config file, where each value sits, and the problems met reading it.

    ``data`` is None when the file could not be read as YAML at all.
    """

    data: Any
    locations: dict[KeyPath, Location] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def read_yaml(text: str) -> SourceTree:
    """Parse one YAML document; syntax errors come back as located problems, never raised."""
    yaml = YAML(typ="safe", pure=True)
    try:
        root = yaml.compose(text)
    except MarkedYAMLError as exc:
        return SourceTree(None, problems=[_syntax_problem(exc)])
    except YAMLError as exc:  # unmarked: rare reader errors
        return SourceTree(None, problems=[Problem((), f"YAML error: {exc}", mark=(1, 1))])
    if root is None:
        return SourceTree(None, problems=[Problem((), "the file is empty", mark=(1, 1))])
    tree = SourceTree(None)
    builder = _Builder(yaml, tree)
    tree.data = builder.build(root, (), None)
    return tree


def _syntax_problem(exc: MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem, context = exc.problem or "", exc.context or ""
    if context.startswith("while"):
        what = f"{problem} ({context})" if problem else context
    else:
        what = f"{context} {problem}".strip()
    return Problem((), f"YAML syntax error: {what or 'invalid YAML'}", mark=where)


class _Builder:
    def __init__(self, yaml: YAML, tree: SourceTree) -> None:
        self.constructor = yaml.constructor
        self.tree = tree
        self.count = 0
        self.stack: list[Node] = []

    def build(self, node: Node, path: KeyPath, key: tuple[int, int] | None) -> Any:
        self.tree.locations.setdefault(path, Location(node, key))
        self.count += 1
        if self.count > MAX_VALUES or node in self.stack:
            why = "recursive alias" if node in self.stack else f"more than {MAX_VALUES} values"
            self._problem(Problem(path, f"cannot expand the file: {why}"))
            return None
        self.stack.append(node)
        try:
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, i), None) for i, item in enumerate(node.value)]
            return self._scalar(node, path)
        finally:
            self.stack.pop()

    def _problem(self, problem: Problem) -> None:
        if problem not in self.tree.problems:  # an aliased node is walked more than once
            self.tree.problems.append(problem)

    def _scalar(self, node: Node, path: KeyPath) -> Any:
        if node.tag in _TEXT_TAGS:
            return node.value
        if node.tag in _CONSTRUCTED_TAGS:
            return self.constructor.construct_object(node, deep=True)
        self._problem(Problem(path, f"unsupported YAML tag {node.tag}"))
        return None

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        first_line: dict[Any, int] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            mark = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            if not isinstance(key_node, ScalarNode):
                self._problem(Problem(path, "a key must be a plain value", mark=mark))
                continue
            key = self._scalar(key_node, path)
            if key in result:
                message = f"duplicate key '{key}' (first at line {first_line[key]})"
                self._problem(Problem((*path, key), message, at="key", mark=mark))
                continue
            first_line[key] = mark[0]
            result[key] = self.build(value_node, (*path, key), mark)
        for merged in merges:
            sources = merged.value if isinstance(merged, SequenceNode) else [merged]
            for source in sources:
                if not isinstance(source, MappingNode):
                    self._problem(Problem(path, "a merge (<<) needs a mapping or a list of them"))
                    continue
                for key, value in self.build(source, path, None).items():
                    result.setdefault(key, value)
        return result
