"""The Jinja2 templates of the e-mail digest: loading, sandboxed rendering, checking.

The bundled templates are package data (``monitor/templates/``); the top-level
``templates/`` folder is the same files for operators to copy (a test keeps them identical).
``templates_dir`` overrides them by file name: a file missing there falls back to the bundled
one. Every template, bundled or not, renders in Jinja2's immutable sandbox with
``StrictUndefined`` (a misspelt variable is an error, not an empty string), HTML templates
autoescaped, and output capped at ``MAX_OUTPUT`` characters.

``check_templates`` renders sample digests (hostile text, one story, empty) through every
template, so a broken template is a config error at load time, not a failure at 7 am.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

import css_inline
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    FileSystemLoader,
    PackageLoader,
    StrictUndefined,
    TemplateError,
    TemplateSyntaxError,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from monitor.digests.view import DigestView
from monitor.errors import ConfigError, ConfigIssue

SUBJECT = "subject.txt.j2"
TEXT = "email.txt.j2"
HTML = "email.html.j2"
TEMPLATE_NAMES = (SUBJECT, TEXT, HTML)
MAX_OUTPUT = 4_000_000  # characters, per rendered template


class TemplateProblem(Exception):
    """A template failed to load or render; ``where`` is ``file:line``."""

    def __init__(self, where: str, message: str) -> None:
        self.where = where
        self.message = message
        super().__init__(f"{where}: {message}")


def _autoescape(name: str | None) -> bool:
    return name is not None and name.endswith((".html.j2", ".html", ".htm"))


def _line(tb: TracebackType | None, filename: str) -> int | None:
    """The template line of the innermost traceback frame that ran ``filename``."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


class Templates:
    """The digest templates of one config (``templates_dir`` None: the bundled ones)."""

    def __init__(self, templates_dir: str | Path | None = None) -> None:
        bundled = PackageLoader("monitor", "templates")
        loader: BaseLoader = bundled
        if templates_dir is not None:
            loader = ChoiceLoader([FileSystemLoader(str(templates_dir)), bundled])
        self.templates_dir = templates_dir
        self._env = ImmutableSandboxedEnvironment(
            loader=loader,
            undefined=StrictUndefined,
            autoescape=_autoescape,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )

    def render(self, name: str, view: DigestView) -> str:
        """Render template ``name`` for ``view``; raises ``TemplateProblem``."""
        filename = name
        try:
            template = self._env.get_template(name)
            filename = template.filename or name
            chunks, size = [], 0
            for chunk in template.generate(digest=view):
                size += len(chunk)
                if size > MAX_OUTPUT:
                    raise TemplateProblem(filename, f"output over {MAX_OUTPUT} characters")
                chunks.append(chunk)
        except TemplateSyntaxError as exc:
            where = f"{exc.filename or filename}:{exc.lineno}"
            raise TemplateProblem(where, f"syntax error: {exc.message}") from exc
        except TemplateProblem:
            raise
        except Exception as exc:  # a template can raise anything (TypeError, ZeroDivision...)
            line = _line(exc.__traceback__, filename)
            where = f"{filename}:{line}" if line else filename
            message = exc.message if isinstance(exc, TemplateError) and exc.message else str(exc)
            raise TemplateProblem(where, f"{type(exc).__name__}: {message}") from exc
        return "".join(chunks)

    def render_html(self, view: DigestView) -> str:
        """The HTML e-mail body with its CSS inlined (remote stylesheets never fetched)."""
        html = self.render(HTML, view)
        try:
            return css_inline.inline(html, load_remote_stylesheets=False, keep_at_rules=True)
        except ValueError as exc:
            raise TemplateProblem(HTML, f"CSS cannot be inlined: {exc}") from exc

    def config_error(self, problem: TemplateProblem) -> ConfigError:
        """``problem`` as the ``ConfigError`` the config loader reports."""
        file, _, line = problem.where.rpartition(":")
        if not file or not line.isdigit():
            file, line = problem.where, "1"
        return ConfigError([ConfigIssue(file, int(line), 1, "templates_dir", problem.message)])


def check_templates(templates_dir: str | Path | None) -> list[str]:
    """Every problem of the templates in ``templates_dir`` (None: the bundled ones).

    Loads each template and renders the sample digests through it; returns messages like
    ``/srv/monitor/templates/email.html.j2:12: UndefinedError: 'story' has no attribute
    'titel'``, or an empty list when all is well.
    """
    from monitor.digests.sample import sample_views

    if templates_dir is not None and not Path(templates_dir).is_dir():
        return [f"{templates_dir}: templates_dir is not a directory"]
    templates = Templates(templates_dir)
    problems: list[str] = []
    for view in sample_views():
        for name in TEMPLATE_NAMES:
            try:
                if name == HTML:
                    templates.render_html(view)
                else:
                    templates.render(name, view)
            except TemplateProblem as exc:
                if str(exc) not in problems:
                    problems.append(str(exc))
    return problems
