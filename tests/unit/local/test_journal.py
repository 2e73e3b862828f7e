"""The journal and its snapshot: what a restart reads back."""

from __future__ import annotations

import json
from pathlib import Path

from chalicelib.local.journal import DataDir, Journal, compact, load_state


def _journal(data: DataDir, *changes: tuple[str, str, dict[str, object] | None]) -> None:
    journal = Journal(data.journal)
    for seq, (table, key, image) in enumerate(changes):
        journal.append(table, {"pk": {"S": key}}, image, str(seq))
    journal.close()


def test_later_changes_win_and_deletions_remove(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _journal(
        data,
        ("t", "a", {"pk": {"S": "a"}, "v": {"N": "1"}}),
        ("t", "a", {"pk": {"S": "a"}, "v": {"N": "2"}}),
        ("t", "b", {"pk": {"S": "b"}}),
        ("t", "b", None),
    )
    state = load_state(data)
    assert list(state.items["t"].values()) == [{"pk": {"S": "a"}, "v": {"N": "2"}}]


def test_a_torn_last_line_is_skipped(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _journal(data, ("t", "a", {"pk": {"S": "a"}}))
    with data.journal.open("a", encoding="utf-8") as journal:
        journal.write('{"table": "t", "keys": {"pk": {"S"')  # what a kill -9 mid-write leaves
    assert load_state(data).count() == 1


def test_compaction_writes_the_snapshot_and_empties_the_journal(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _journal(data, ("t", "a", {"pk": {"S": "a"}}), ("u", "b", {"pk": {"S": "b"}, "x": {"S": "y"}}))

    compact(data)

    assert data.journal.read_text() == ""
    snapshot = json.loads(data.snapshot.read_text())
    assert snapshot["tables"]["u"] == {"key": ["pk"], "items": [{"pk": {"S": "b"}, "x": {"S": "y"}}]}
    assert sorted(path.name for path in tmp_path.iterdir()) == ["journal.jsonl", "snapshot.json"]


def test_a_crash_between_snapshot_and_truncation_changes_nothing(tmp_path: Path) -> None:
    data = DataDir(tmp_path)
    _journal(data, ("t", "a", {"pk": {"S": "a"}, "v": {"N": "1"}}), ("t", "c", {"pk": {"S": "c"}}))
    kept_journal = data.journal.read_text()
    first = compact(data)
    data.journal.write_text(kept_journal)  # as if the stop died before emptying the journal

    assert load_state(data).items == first.items
