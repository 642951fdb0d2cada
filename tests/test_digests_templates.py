"""Templates: the bundled ones check clean; operator templates are checked and sandboxed."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.digests import TemplateProblem, Templates, check_templates, render_message
from monitor.digests.sample import sample_digests, sample_views
from monitor.digests.templates import TEMPLATE_NAMES
from tests.conftest import ROOT


def test_bundled_templates_have_no_problems() -> None:
    assert check_templates(None) == []


def test_the_top_level_copy_is_the_bundled_templates() -> None:
    bundled = ROOT / "monitor" / "templates"
    for name in TEMPLATE_NAMES:
        assert (ROOT / "templates" / name).read_bytes() == (bundled / name).read_bytes(), (
            f"templates/{name} differs from monitor/templates/{name}: copy your edit across"
        )
    assert check_templates(ROOT / "templates") == []


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_a_misspelt_variable_is_reported_with_file_and_line(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "email.txt.j2",
        "{{ digest.title }}\n{% for g in digest.groups %}"
        "{% for s in g.stories %}{{ s.titel }}{% endfor %}{% endfor %}\n",
    )
    [problem] = check_templates(tmp_path)
    assert problem.startswith(f"{path}:2: UndefinedError")
    assert "titel" in problem


def test_a_syntax_error_is_reported_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "email.html.j2", "<p>\n{% if digest.empty %}\n<b>none</b>\n")
    [problem] = check_templates(tmp_path)
    assert problem.startswith(f"{path}:")
    assert "syntax error" in problem


def test_an_override_replaces_only_its_own_template(tmp_path: Path) -> None:
    write(tmp_path, "subject.txt.j2", "[news] {{ digest.title }} ({{ digest.story_count }})")
    assert check_templates(tmp_path) == []
    message = render_message(sample_digests()[0], Templates(tmp_path))
    assert message.subject == "[news] Middle East daily (3)"
    assert "Middle East daily" in message.html  # the bundled HTML template still renders


def test_operator_html_templates_are_autoescaped(tmp_path: Path) -> None:
    write(
        tmp_path,
        "email.html.j2",
        "{% for g in digest.groups %}{% for s in g.stories %}"
        "<h1>{{ s.title }}</h1>{% endfor %}{% endfor %}",
    )
    html = Templates(tmp_path).render("email.html.j2", sample_views()[0])
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


@pytest.mark.parametrize(
    "expression",
    [
        "digest.__class__.__mro__",
        "''.__class__.__mro__[1].__subclasses__()",
        "digest.created.__reduce_ex__(2)",
        "digest.groups.append(1)",
    ],
)
def test_operator_templates_run_in_a_sandbox(tmp_path: Path, expression: str) -> None:
    write(tmp_path, "email.txt.j2", "{{ " + expression + " }}")
    [problem] = check_templates(tmp_path)
    assert "SecurityError" in problem or "UndefinedError" in problem


def test_output_is_capped(tmp_path: Path) -> None:
    write(tmp_path, "email.txt.j2", '{% for i in range(100000) %}{{ "x" * 1000 }}{% endfor %}')
    with pytest.raises(TemplateProblem, match="output over"):
        Templates(tmp_path).render("email.txt.j2", sample_views()[0])


def test_a_missing_folder_is_a_problem(tmp_path: Path) -> None:
    assert check_templates(tmp_path / "nope") == [
        f"{tmp_path / 'nope'}: templates_dir is not a directory"
    ]


def test_a_problem_converts_to_a_config_error(tmp_path: Path) -> None:
    path = write(tmp_path, "email.txt.j2", "line one\n{{ digest.nothing }}\n")
    templates = Templates(tmp_path)
    with pytest.raises(TemplateProblem) as caught:
        templates.render("email.txt.j2", sample_views()[0])
    [issue] = templates.config_error(caught.value).issues
    assert (issue.file, issue.line, issue.path) == (str(path), 2, "templates_dir")
