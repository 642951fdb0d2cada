"""Loading config.yaml: every kind of error is reported as file:line:col: path: message."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

import pytest

from monitor.config import (
    Config,
    ConfigError,
    LoadedConfig,
    format_issues,
    load_config,
    load_config_text,
)

SECRET = "hunter2-Zq9"

BASE = """\
feeds:
  - name: bbc
    url: https://feeds.bbci.co.uk/news/world/middle_east/rss.xml
entities:
  hamas: [Hamas, حماس]
  syria: [Syria, Damascus]
rules:
  - name: hamas-syria
    query: hamas AND damascus
    notify: [daily]
digests:
  - name: daily
    schedule: "0 7 * * *"
    channels: [files]
channels:
  files: {type: file, path: out/}
"""


def load(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    env: Mapping[str, str] | None = None,
) -> LoadedConfig:
    (tmp_path / "config.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return load_config("config.yaml", env=env or {})


def issues(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    env: Mapping[str, str] | None = None,
) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, monkeypatch, text, env)
    return [str(issue) for issue in info.value.issues]


def test_base_config_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = load(tmp_path, monkeypatch, BASE).config
    assert isinstance(config, Config)
    assert config.rules[0].notify == ("daily",)


SINGLE_ERRORS = [
    pytest.param(
        BASE.replace("    url: https://feeds", "    urll: https://feeds"),
        [
            "config.yaml:2:5: feeds[0].url: required key is missing",
            "config.yaml:3:5: feeds[0].urll: unknown key; did you mean 'url'?",
        ],
        id="unknown key and the missing key it leaves",
    ),
    pytest.param(
        BASE + "http:\n  concurrency: many\n",
        ["config.yaml:18:16: http.concurrency: expected a whole number"],
        id="wrong type",
    ),
    pytest.param(
        BASE + "defaults:\n  backfill: 3 days\n",
        [
            "config.yaml:18:13: defaults.backfill: expected a duration such as 30s, 10m, "
            "24h or 90d, not '3 days'"
        ],
        id="bad duration",
    ),
    pytest.param(
        BASE + "http:\n  max_feed_bytes: 10 megs\n",
        [
            "config.yaml:18:19: http.max_feed_bytes: expected a size such as 512KiB, 5MiB "
            "or 1GB, not '10 megs'"
        ],
        id="bad size",
    ),
    pytest.param(
        BASE.replace("    schedule:", "    immediate: true\n    # schedule:").replace(
            "    channels: [files]\n", ""
        ),
        ["config.yaml:12:5: digests[0].channels: required key is missing"],
        id="missing required key points at the mapping",
    ),
    pytest.param(
        BASE + "  mail: {type: email, host: smtp.example.org, from: a@example.org}\n",
        ["config.yaml:17:9: channels.mail.to: required key is missing"],
        id="missing key in a channel",
    ),
    pytest.param(
        BASE + "  hook: {type: webhook, url: https://example.org/h, secret: s, port: 1}\n",
        ["config.yaml:17:64: channels.hook.port: unknown key"],
        id="unknown key in a channel",
    ),
    pytest.param(
        BASE + "  mail:\n    type: email\n    host: smtp.example.org\n    port: 99999\n"
        "    from: a@example.org\n    to: [b@example.org]\n",
        ["config.yaml:20:11: channels.mail.port: must be at most 65535"],
        id="out of range",
    ),
    pytest.param(
        BASE + "  pigeon: {type: carrier}\n",
        [
            "config.yaml:17:18: channels.pigeon.type: unknown channel type; expected one of "
            "file, email, slack, webhook"
        ],
        id="unknown channel type",
    ),
    pytest.param(
        BASE.replace("query: hamas AND damascus", "query: hamas AND @assad"),
        ["config.yaml:9:22: rules[0].query: unknown entity @assad"],
        id="unknown entity in a query",
    ),
    pytest.param(
        BASE.replace("notify: [daily]", "notify: [daily, weekly]"),
        ["config.yaml:10:21: rules[0].notify[1]: unknown digest 'weekly'"
         " (known: daily)"],
        id="unknown digest",
    ),
    pytest.param(
        BASE.replace("channels: [files]", "channels: [file]"),
        ["config.yaml:14:16: digests[0].channels[0]: unknown channel 'file'; "
         "did you mean 'files'?"],
        id="unknown channel",
    ),
    pytest.param(
        BASE.replace("rules:\n", "rules:\n  - name: hamas-syria\n    query: syria\n"),
        ["config.yaml:10:11: rules[1].name: duplicate rule name 'hamas-syria' "
         "(first at line 8)"],
        id="duplicate rule name",
    ),
    pytest.param(
        BASE.replace('"0 7 * * *"', '"0 7 * *"'),
        ["config.yaml:13:15: digests[0].schedule: a schedule has 5 fields "
         "(minute hour day month weekday), not 4"],
        id="cron with 4 fields",
    ),
    pytest.param(
        BASE.replace('"0 7 * * *"', '"0 24 * * *"'),
        ["config.yaml:13:15: digests[0].schedule: invalid schedule: Error validating "
         "expression '24': the last value (24) is higher than the maximum value (23)"],
        id="cron hour out of range",
    ),
    pytest.param(
        BASE.replace('    channels: [files]', '    timezone: Europe/Lundun\n    channels: [files]'),
        ["config.yaml:14:15: digests[0].timezone: unknown time zone: use an IANA name "
         "such as Europe/London or UTC"],
        id="bad timezone",
    ),
    pytest.param(
        BASE.replace("query: hamas AND damascus", "query: hamas AND (damascus OR syria"),
        ["config.yaml:9:22: rules[0].query: unbalanced parenthesis"],
        id="unclosed parenthesis",
    ),
    pytest.param(
        BASE.replace("query: hamas AND damascus", "query: 'hamas AND damascus)'"),
        ["config.yaml:9:31: rules[0].query: unbalanced parenthesis"],
        id="stray parenthesis in single quotes",
    ),
    pytest.param(
        BASE.replace("query: hamas AND damascus", "query: 'it''s \"axis of resistance'"),
        ["config.yaml:9:19: rules[0].query: unclosed quote"],
        id="unclosed quote after a '' escape",
    ),
    pytest.param(
        BASE.replace("query: hamas AND damascus", 'query: "\\"axis\\" AND (x"'),
        ["config.yaml:9:26: rules[0].query: unbalanced parenthesis"],
        id="unclosed parenthesis after double-quoted escapes",
    ),
    pytest.param(
        BASE.replace("    url: https://feeds", "    name: again\n    url: https://feeds"),
        ["config.yaml:3:5: feeds[0].name: duplicate key 'name' (first at line 2)"],
        id="duplicate YAML key",
    ),
    pytest.param(
        BASE + "  mail:\n    type: email\n    host: smtp.example.org\n"
        "    password: ${SMTP_PASSWORD}\n    from: a@example.org\n    to: [b@example.org]\n",
        ["config.yaml:20:15: channels.mail.password: environment variable SMTP_PASSWORD "
         "is not set"],
        id="unset environment variable",
    ),
    pytest.param(
        BASE + "  mail:\n    type: email\n    host: 'smtp.${DOMAIN}'\n"
        "    from: a@example.org\n    to: [b@example.org]\n",
        ["config.yaml:19:17: channels.mail.host: environment variable DOMAIN is not set"],
        id="unset variable inside a quoted value points at the reference",
    ),
    pytest.param(
        BASE.replace("    url: https", "    enabled: yes\n    url: https"),
        ["config.yaml:3:14: feeds[0].enabled: expected true or false (YAML 1.2 reads yes, "
         "no, on and off as strings)"],
        id="yes is not a boolean",
    ),
    pytest.param(
        BASE.replace("https://feeds.bbci", "ftp://feeds.bbci"),
        ["config.yaml:3:10: feeds[0].url: expected an http:// or https:// URL"],
        id="feed url not http",
    ),
    pytest.param(
        BASE + "http:\n  allow_networks: [10.0.0.0/8, 10.1.2.3/16]\n",
        ["config.yaml:18:32: http.allow_networks[1]: expected an IP network such as "
         "10.0.0.0/8 or fd00::/8 (no host bits set)"],
        id="network with host bits",
    ),
    pytest.param(
        BASE + "templates_dir: my-templates/\n",
        ["config.yaml:17:16: templates_dir: no such directory: {tmp}/my-templates"],
        id="missing templates dir",
    ),
    pytest.param(
        "",
        ["config.yaml:1:1: the file is empty"],
        id="empty file",
    ),
    pytest.param(
        "feeds:\n  - name: a\n   url: https://a.example/feed\n",
        ["config.yaml:3:4: YAML syntax error: expected <block end>, but found "
         "'<block mapping start>' (while parsing a block collection)"],
        id="YAML syntax error",
    ),
    pytest.param(
        "- just\n- a list\n",
        ["config.yaml:1:1: the top level must be a mapping of settings"],
        id="top level not a mapping",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("text", "expected"), SINGLE_ERRORS)
def test_each_error_is_located(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, expected: list[str]
) -> None:
    expected = [e.replace("{tmp}", str(tmp_path)) for e in expected]
    assert issues(tmp_path, monkeypatch, text) == expected


def test_all_errors_are_reported_at_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = """\
    feeds:
      - name: bbc
        url: https://feeds.bbci.co.uk/news/world/middle_east/rss.xml
        interval: often
      - name: bbc
        url: https://feeds.bbci.co.uk/news/world/middle_east/rss.xml
    rules:
      - name: r
        query: '@hamas'
        notify: [daily]
        novelty: {track: [hezbollah], within: 0}
    digests:
      - name: daily
        channels: [files]
    channels:
      files: {type: file}
    """
    found = [i.split(": ", 2)[:2] for i in issues(tmp_path, monkeypatch, text)]
    assert found == [
        ["config.yaml:4:15", "feeds[0].interval"],
        ["config.yaml:5:11", "feeds[1].name"],
        ["config.yaml:6:10", "feeds[1].url"],
        ["config.yaml:9:13", "rules[0].query"],
        ["config.yaml:11:23", "rules[0].novelty.track[0]"],
        ["config.yaml:11:43", "rules[0].novelty.within"],
        ["config.yaml:13:5", "digests[0].schedule"],
    ]


def test_yaml_12_keeps_no_as_a_string(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    text = BASE.replace("    url: https", "    tags: [NO, on, yes]\n    url: https")
    text = text.replace("[Syria, Damascus]", "[Syria, NO, off]")
    config = load(tmp_path, monkeypatch, text).config
    assert config.feeds[0].tags == ("NO", "on", "yes")
    assert config.entities["syria"] == ("Syria", "NO", "off")


def test_environment_references_are_resolved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = BASE + (
        "  mail:\n    type: email\n    host: ${SMTP_HOST}\n    port: ${SMTP_PORT:-2525}\n"
        "    password: ${SMTP_PASSWORD}\n    from: monitor@example.org\n"
        "    to: ['$${literal}']\n"
    )
    env = {"SMTP_HOST": "smtp.example.org", "SMTP_PASSWORD": SECRET}
    mail = load(tmp_path, monkeypatch, text, env).config.channels["mail"]
    assert mail.type == "email"
    assert (mail.host, mail.port, mail.to) == ("smtp.example.org", 2525, ("${literal}",))
    assert mail.password is not None
    assert mail.password.get_secret_value() == SECRET
    assert SECRET not in repr(mail)


SECRET_LEAKS = [
    pytest.param("    port: ${SMTP_PASSWORD}\n", "channels.mail.port: expected a whole number",
                 id="int field"),
    pytest.param("    timeout: ${SMTP_PASSWORD}\n",
                 "channels.mail.timeout: expected a duration such as 30s, 10m, 24h or 90d, "
                 "not '***'", id="duration field echoes the value: redacted"),
    pytest.param("    tls: ${SMTP_PASSWORD}\n",
                 "channels.mail.tls: expected 'starttls', 'implicit' or 'none'",
                 id="literal field"),
    pytest.param("    password: ['${SMTP_PASSWORD}']\n",
                 "channels.mail.password: expected a string", id="secret field of wrong type"),
    pytest.param("    timeout: x${SMTP_PASSWORD}x\n",
                 "channels.mail.timeout: expected a duration such as 30s, 10m, 24h or 90d, "
                 "not '***'", id="secret inside a longer value"),
]  # fmt: skip


@pytest.mark.parametrize(("line", "expected"), SECRET_LEAKS)
def test_secrets_are_never_printed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, expected: str
) -> None:
    text = BASE + (
        "  mail:\n    type: email\n    host: smtp.example.org\n"
        f"{line}    from: a@example.org\n    to: [b@example.org]\n"
    )
    with pytest.raises(ConfigError) as info:
        load(tmp_path, monkeypatch, text, {"SMTP_PASSWORD": SECRET})
    error = info.value
    assert [str(i).split(": ", 1)[1] for i in error.issues] == [expected]
    shown = str(error) + repr(error.issues) + repr(error.__cause__) + repr(error.__context__)
    assert SECRET not in shown


def test_relative_paths_follow_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "site"
    (folder / "templates").mkdir(parents=True)
    text = BASE + "storage: sqlite:///state/monitor.db\ntemplates_dir: templates\n"
    (folder / "config.yaml").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    loaded = load_config("site/config.yaml", env={})
    assert loaded.path == Path("site/config.yaml")
    assert loaded.base_dir == folder
    assert len(loaded.source_hash) == 64
    config = loaded.config
    assert config.storage == f"sqlite:///{folder}/state/monitor.db"
    assert config.templates_dir == str(folder / "templates")
    files = config.channels["files"]
    assert files.type == "file"
    assert files.path == f"{folder}/out/"


@pytest.mark.parametrize(
    "storage",
    ["sqlite:////srv/monitor.db", "sqlite:///:memory:", "postgresql://monitor@db/monitor"],
)
def test_absolute_and_remote_storage_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, storage: str
) -> None:
    config = load(tmp_path, monkeypatch, BASE + f"storage: '{storage}'\n").config
    assert config.storage == storage


def test_unreadable_and_undecodable_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("missing.yaml", env={})
    assert str(info.value) == "missing.yaml:1:1: cannot read the file: No such file or directory"
    Path("latin1.yaml").write_bytes(b"feeds: []\ntitle: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config("latin1.yaml", env={})
    assert str(info.value) == "latin1.yaml:2:11: the file is not valid UTF-8"


def test_config_text_is_checked_under_the_given_name(tmp_path: Path) -> None:
    config = load_config_text(BASE, file="site.yaml", base_dir=tmp_path)
    assert config.storage == f"sqlite:///{tmp_path}/state/monitor.db"
    with pytest.raises(ConfigError) as info:
        load_config_text(BASE + "colour: blue\nfeeds: []\n", file="site.yaml")
    assert format_issues(info.value) == (
        "site.yaml:17:1: colour: unknown key\n"
        "site.yaml:18:1: feeds: duplicate key 'feeds' (first at line 1)"
    )


def test_query_from_the_environment_is_located_at_its_value(tmp_path: Path) -> None:
    text = BASE.replace("query: hamas AND damascus", "query: x ${QUERY}")
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={"QUERY": "AND (y"}, base_dir=tmp_path)
    assert [str(i) for i in info.value.issues] == [
        "config.yaml:9:12: rules[0].query: unbalanced parenthesis"
    ]


def test_short_secrets_are_hidden_without_garbling_messages(tmp_path: Path) -> None:
    text = BASE.replace(
        "    url: https", "    enabled: ${ENABLED}\n    fetch_articles: ${F}\n    url: https"
    )
    with pytest.raises(ConfigError) as info:
        load_config_text(text, env={"ENABLED": "true", "F": "abc"}, base_dir=tmp_path)
    hint = "expected true or false (YAML 1.2 reads yes, no, on and off as strings)"
    assert [str(i).split(": ", 1)[1] for i in info.value.issues] == [
        f"feeds[0].enabled: {hint}",
        f"feeds[0].fetch_articles: {hint}",
    ]
