"""What makes local data survive a restart: a journal of table changes and its snapshot.

Layout of the data directory:
- ``journal.jsonl``: one JSON line per change read from a table's stream, in stream order:
  ``{"table", "keys", "image" (the whole new item, or null for a deletion), "seq", "at"}``.
- ``snapshot.json``: the journal compacted, ``{"version", "tables": {name: {"key", "items"}}}``.
- ``queues.json``: messages that were waiting in the queues at the last clean stop.
- ``s3/``: the buckets' objects at the last clean stop (S3 has no stream to journal).

Replaying the snapshot and then the journal in order gives the latest state of every item, and
doing it twice gives the same state, so a crash at any point between writing the snapshot and
emptying the journal is harmless.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from chalicelib.local.dynamo_json import Item

logger = logging.getLogger(__name__)

SNAPSHOT_VERSION = 1

# table name → canonical key → item; the key attribute names per table travel alongside.
TableState = dict[str, dict[str, Item]]


@dataclass(frozen=True)
class DataDir:
    root: Path

    @property
    def journal(self) -> Path:
        return self.root / "journal.jsonl"

    @property
    def snapshot(self) -> Path:
        return self.root / "snapshot.json"

    @property
    def queues(self) -> Path:
        return self.root / "queues.json"

    @property
    def s3(self) -> Path:
        return self.root / "s3"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)


@dataclass
class StoredState:
    """Every table's items as the data directory describes them."""

    items: TableState
    key_names: dict[str, list[str]]

    def count(self) -> int:
        return sum(len(items) for items in self.items.values())


def canonical_key(keys: Item) -> str:
    """One string per item key, whatever the attribute order."""
    return json.dumps(keys, sort_keys=True, separators=(",", ":"))


class Journal:
    """Appends changes; ``flush`` makes them durable (the stream reader calls it every poll)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: IO[str] | None = path.open("a", encoding="utf-8")
        self._lock = threading.Lock()
        self._dirty = False

    def append(self, table: str, keys: Item, image: Item | None, seq: str) -> None:
        """Record that the item with ``keys`` is now ``image`` (None: deleted)."""
        entry = {"table": table, "keys": keys, "image": image, "seq": seq, "at": round(time.time(), 3)}
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        with self._lock:
            if self._file is None:
                raise RuntimeError(f"journal {self._path} is closed")
            self._file.write(line)
            self._dirty = True

    def flush(self) -> None:
        """Push what was appended to the disk (flush and fsync), if anything was."""
        with self._lock:
            if self._file is None or not self._dirty:
                return
            self._file.flush()
            os.fsync(self._file.fileno())
            self._dirty = False

    def close(self) -> None:
        self.flush()
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None


def load_state(data_dir: DataDir) -> StoredState:
    """The snapshot with the journal applied on top, in order."""
    state = _read_snapshot(data_dir.snapshot)
    for entry in _journal_entries(data_dir.journal):
        table = entry["table"]
        keys = entry["keys"]
        state.key_names.setdefault(table, sorted(keys))
        items = state.items.setdefault(table, {})
        if entry["image"] is None:
            items.pop(canonical_key(keys), None)
        else:
            items[canonical_key(keys)] = entry["image"]
    return state


def compact(data_dir: DataDir) -> StoredState:
    """Fold the journal into the snapshot and empty the journal; returns the state written."""
    state = load_state(data_dir)
    tables = {
        table: {"key": state.key_names.get(table, []), "items": list(items.values())}
        for table, items in sorted(state.items.items())
    }
    write_json_atomically(data_dir.snapshot, {"version": SNAPSHOT_VERSION, "tables": tables})
    # Only once the snapshot is safely on disk may the journal go.
    with data_dir.journal.open("w", encoding="utf-8") as journal:
        journal.flush()
        os.fsync(journal.fileno())
    return state


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` to ``path`` so that a crash leaves either the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", encoding="utf-8") as out:
        json.dump(document, out, separators=(",", ":"))
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)
    _fsync_directory(path.parent)


def _read_snapshot(path: Path) -> StoredState:
    if not path.exists():
        return StoredState(items={}, key_names={})
    document = json.loads(path.read_text(encoding="utf-8"))
    if document.get("version") != SNAPSHOT_VERSION:
        raise ValueError(f"{path}: unknown snapshot version {document.get('version')!r}")
    state = StoredState(items={}, key_names={})
    for table, body in document["tables"].items():
        key_names: list[str] = body["key"]
        state.key_names[table] = key_names
        state.items[table] = {canonical_key({name: item[name] for name in key_names}): item for item in body["items"]}
    return state


def _journal_entries(path: Path) -> Iterator[dict[str, Any]]:
    if not path.exists():
        return
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError:
                # A kill -9 in the middle of a write leaves a torn last line; nothing after it.
                logger.warning("%s:%d: skipping a torn journal line", path, number)
                continue
            yield entry


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
