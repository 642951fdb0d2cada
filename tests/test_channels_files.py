"""The file channel: three files per digest, named from the key, written atomically."""

from __future__ import annotations

import asyncio
import json
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from monitor.channels.files import FileChannel
from monitor.config import schema
from monitor.errors import PermanentDeliveryError
from monitor.model import Message
from tests.digestkit import entry, message_for, simple_message

KEY = "digest:daily:2023-10-10T07:00:00+00:00:files"


def channel(folder: Path) -> FileChannel:
    return FileChannel("files", schema.FileChannel(type="file", path=str(folder)))


def send(ch: FileChannel, message: Message, key: str = KEY) -> None:
    asyncio.run(ch.send(message, key))


def test_writes_eml_html_and_json(tmp_path: Path) -> None:
    folder = tmp_path / "digests" / "daily"  # created on demand
    message = simple_message()
    send(channel(folder), message)

    names = sorted(p.name for p in folder.iterdir())
    assert len(names) == 3
    stem = names[0].rsplit(".", 1)[0]
    assert stem.startswith("digest-daily-2023-10-10T07-00-00-00-00-files-")
    assert names == [f"{stem}.eml", f"{stem}.html", f"{stem}.json"]
    mail = message_from_bytes((folder / f"{stem}.eml").read_bytes(), policy=policy.default)
    assert mail["Subject"] == message.subject
    assert mail.get_content_type() == "multipart/alternative"
    assert (folder / f"{stem}.html").read_text(encoding="utf-8") == message.html
    assert json.loads((folder / f"{stem}.json").read_text(encoding="utf-8")) == message.payload


def test_the_same_key_overwrites_the_same_files(tmp_path: Path) -> None:
    ch = channel(tmp_path)
    send(ch, simple_message())
    newer = message_for([entry(9, "A later story about hamas", "Hamas later.")])
    send(ch, newer)
    assert len(list(tmp_path.iterdir())) == 3
    assert ch.paths(KEY)["html"].read_text(encoding="utf-8") == newer.html
    send(ch, newer, key=KEY + ":other")
    assert len(list(tmp_path.iterdir())) == 6


def test_a_hostile_key_stays_in_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    send(channel(folder), simple_message(), key="../../etc/passwd\x00\n")
    assert len(list(folder.iterdir())) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_a_failed_write_leaves_no_partial_files(tmp_path: Path) -> None:
    ch = channel(tmp_path)
    ch.paths(KEY)["html"].mkdir()  # os.replace onto a directory fails
    with pytest.raises(PermanentDeliveryError):
        send(ch, simple_message())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []


def test_a_folder_that_is_a_file_is_permanent(tmp_path: Path) -> None:
    target = tmp_path / "digests"
    target.write_text("not a folder")
    with pytest.raises(PermanentDeliveryError, match="digests"):
        send(channel(target), simple_message())
