"""``check_export``: an audit export checked on its own (no database), intact and tampered.

The exports are real ones, written by the casework from a workstation's log; each tamper test
changes the file the way someone might (an edited detail, swapped or deleted rows, a cut-off
end, another encoding, garbage) and expects the verdict and a plain reason, never a traceback.
What the checker says about a deleted row is documented in app/casework/audit_export_check.py:
a gap in a CSV export (which does not record its filters), a break in a JSON export of the
whole log, and a count mismatch in a filtered JSON export.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from case_support import make_people

from app.casework import audit_export_read
from app.casework.accounts import SignedInUser
from app.casework.audit_export import export_audit_events
from app.casework.audit_export_check import ExportCheck, check_export
from app.casework.workstation import Workstation
from app.errors import InvalidInput, StorageError
from app.records.audit import append_event, event_hash, iter_events

NOTE = 'Café, "quoted", naïve\nsecond line'


@dataclass(frozen=True)
class Exported:
    supervisor: SignedInUser
    events: int  # events in the log before the exports (all of them are in each file)
    note_sequence: int  # the event whose details carry NOTE
    csv: Path
    json: Path
    sha256: dict[str, str]  # as recorded in each audit.exported event


def _add_events(ws: Workstation) -> int:
    """A few events with awkward details; the sequence of the one carrying NOTE."""
    with ws.database.session() as session:
        noted = append_event(
            session,
            actor="sam",
            action="note.recorded",
            object_type="request",
            object_id="7",
            details={"note": NOTE, "nested": {"list": [1, 2.5, None, True]}, "n": 10**20},
        )
        for number in range(3):
            append_event(
                session,
                actor="system",
                action="audit.verified",
                object_type="audit_log",
                object_id=None,
                details={"ok": True, "events_checked": number},
            )
        return noted.sequence


@pytest.fixture
def exported(ws: Workstation, tmp_path: Path) -> Exported:
    people = make_people(ws)
    note_sequence = _add_events(ws)
    with ws.database.session(read_only=True) as session:
        count = sum(1 for _ in iter_events(session))
    paths, digests = {}, {}
    for format in ("csv", "json"):
        path = tmp_path / f"audit.{format}"
        export_audit_events(ws, by=people.supervisor, format=format, destination=path)
        with ws.database.session(read_only=True) as session:
            last = next(iter_events(session, newest_first=True, limit=1))
        assert last.action == "audit.exported"
        paths[format], digests[format] = path, last.details_dict["sha256"]
    # The JSON file holds the CSV export's audit.exported event too.
    return Exported(people.supervisor, count, note_sequence, paths["csv"], paths["json"], digests)


def _csv_lines(path: Path) -> list[str]:
    return path.read_bytes().decode("utf-8").split("\r\n")


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_bytes("\r\n".join(lines).encode("utf-8"))


def _line_of(lines: list[str], sequence: int) -> int:
    return next(i for i, line in enumerate(lines) if line.startswith(f"{sequence},"))


def _json_lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").split("\n")


def _json_line_of(lines: list[str], sequence: int) -> int:
    return next(i for i, line in enumerate(lines) if f'"sequence": {sequence}, ' in line)


def _broken(check: ExportCheck, sequence: int | None, *words: str) -> None:
    assert not check.intact, check
    assert check.broken_sequence == sequence, check.problem
    for word in words:
        assert word in (check.problem or ""), check.problem


def _file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------ intact
@pytest.mark.parametrize("format", ["csv", "json"])
def test_an_untouched_export_is_intact_and_its_sha256_is_the_recorded_one(
    exported: Exported, format: str
) -> None:
    path = exported.csv if format == "csv" else exported.json
    check = check_export(path)
    expected = exported.events + (format == "json")  # the CSV export's own event
    assert check.intact, check.problem
    assert check.format == format
    assert check.events_checked == check.hashes_verified == expected
    assert (check.first_sequence, check.last_sequence) == (1, expected)
    assert check.gap_count == check.withheld_count == 0
    assert check.sha256 == exported.sha256[format] == _file_sha(path)
    assert check.size_bytes == path.stat().st_size
    assert check.whole_log is (format == "json")  # JSON says it was made without filters


def test_the_format_is_decided_by_content_not_by_name(exported: Exported, tmp_path: Path) -> None:
    disguised = tmp_path / "audit.json.txt"
    disguised.write_bytes(exported.csv.read_bytes())
    assert check_export(disguised).format == "csv"
    other = tmp_path / "audit.csv"
    other.write_bytes(exported.json.read_bytes())
    check = check_export(other)
    assert check.format == "json" and check.intact


def test_a_reformatted_json_export_still_verifies(exported: Exported, tmp_path: Path) -> None:
    """The JSON is parsed, not matched line by line: indenting it keeps the events checkable."""
    document = json.loads(exported.json.read_text(encoding="utf-8"))
    pretty = tmp_path / "pretty.json"
    pretty.write_text(json.dumps(document, indent=3, ensure_ascii=True), encoding="utf-8")
    check = check_export(pretty)
    assert check.intact, check.problem
    assert check.hashes_verified == exported.events + 1


# ------------------------------------------------------------------------------ tampering
@pytest.mark.parametrize("format", ["csv", "json"])
def test_one_changed_character_in_the_details_is_an_altered_event(
    exported: Exported, format: str
) -> None:
    path = exported.csv if format == "csv" else exported.json
    text = path.read_text(encoding="utf-8")
    assert text.count("Café") == 1
    path.write_text(text.replace("Café", "Cafe"), encoding="utf-8")
    _broken(check_export(path), exported.note_sequence, "altered")


def test_a_forged_event_with_its_own_hash_breaks_the_link_to_the_next(
    exported: Exported,
) -> None:
    lines = _csv_lines(exported.csv)
    index = _line_of(lines, exported.note_sequence)
    row = next(csv.reader([lines[index]]))
    row[6] = row[6].replace("Caf\u00e9", "Cafe")
    row[8] = event_hash(
        sequence=int(row[0]),
        occurred_at=row[1],
        actor=row[2],
        action=row[3],
        object_type=row[4],
        object_id=row[5] or None,
        details=row[6],
        prev_hash=row[7],
    )
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="").writerow(row)
    lines[index] = buffer.getvalue()
    _write_lines(exported.csv, lines)
    _broken(
        check_export(exported.csv),
        exported.note_sequence + 1,
        f"does not follow event {exported.note_sequence}",
        "prev_hash",
    )


@pytest.mark.parametrize("format", ["csv", "json"])
def test_two_swapped_rows_are_out_of_order(exported: Exported, format: str) -> None:
    if format == "csv":
        lines = _csv_lines(exported.csv)
        first = _line_of(lines, 3)
        lines[first], lines[first + 1] = lines[first + 1], lines[first]
        _write_lines(exported.csv, lines)
        check = check_export(exported.csv)
    else:
        lines = _json_lines(exported.json)
        first = _json_line_of(lines, 3)
        # Keep the separators where they were: swap the events, not the commas.
        a, b = lines[first].rstrip(","), lines[first + 1].rstrip(",")
        lines[first], lines[first + 1] = b + ",", a + ","
        exported.json.write_text("\n".join(lines), encoding="utf-8")
        check = check_export(exported.json)
    _broken(check, 3, "comes after event 4", "moved")
    assert check.events_checked == 3  # events 1, 2 and 4 were read before it


def test_a_deleted_middle_row_of_a_csv_export_is_a_gap_unless_it_holds_the_whole_log(
    exported: Exported,
) -> None:
    lines = _csv_lines(exported.csv)
    del lines[_line_of(lines, 5)]
    _write_lines(exported.csv, lines)
    check = check_export(exported.csv)
    assert check.intact, check.problem  # a CSV export does not say which filters it had ...
    assert (check.gap_count, check.missing_events) == (1, 1)
    assert [str(gap) for gap in check.gaps] == ["5"]
    assert check.events_checked == exported.events - 1  # ... so the count and SHA-256 tell
    assert check.sha256 != exported.sha256["csv"]
    _broken(check_export(exported.csv, whole_log=True), 6, "Event 5 is missing", "deleted")


def test_a_deleted_row_of_a_json_export_of_the_whole_log_is_a_break(exported: Exported) -> None:
    lines = _json_lines(exported.json)
    del lines[_json_line_of(lines, 5)]
    exported.json.write_text("\n".join(lines), encoding="utf-8")
    _broken(check_export(exported.json), 6, "Event 5 is missing", "whole log")


def test_a_deleted_row_of_a_filtered_json_export_breaks_its_event_count(
    ws: Workstation, exported: Exported, tmp_path: Path
) -> None:
    path = tmp_path / "filtered.json"
    export_audit_events(
        ws, by=exported.supervisor, format="json", destination=path, action_prefix="user."
    )
    check = check_export(path)
    assert check.intact and check.gap_count > 0 and not check.whole_log
    lines = _json_lines(path)
    victim = _json_line_of(lines, check.last_sequence or 0) - 1
    del lines[victim]
    path.write_text("\n".join(lines), encoding="utf-8")
    check = check_export(path)
    _broken(check, None, "holds", "deleted")
    assert "events but holds" in (check.problem or "")


def test_a_withheld_mark_does_not_hide_a_reordered_or_relinked_event(exported: Exported) -> None:
    """A row re-marked withheld is listed as not verifiable, and still has to link."""
    lines = _csv_lines(exported.csv)
    index = _line_of(lines, exported.note_sequence)
    assert lines[index].endswith(",false")
    lines[index] = lines[index].removesuffix(",false") + ",true"
    _write_lines(exported.csv, lines)
    check = check_export(exported.csv)
    assert check.intact and check.withheld == (exported.note_sequence,)
    assert check.hashes_verified == check.events_checked - 1
    lines[index] = lines[index].replace("Café", "Cafe")
    nxt = _line_of(lines, exported.note_sequence + 1)
    fields = next(csv.reader([lines[nxt]]))
    lines[nxt] = lines[nxt].replace(fields[7], "0" * 64)  # its prev_hash
    _write_lines(exported.csv, lines)
    _broken(check_export(exported.csv), exported.note_sequence + 1, "altered")


# ------------------------------------------------------------------------------ damaged files
def test_a_truncated_csv_export(exported: Exported) -> None:
    data = exported.csv.read_bytes()
    middle = data.index(b"Caf") + 2  # inside the quoted details of a row
    exported.csv.write_bytes(data[:middle])
    check = check_export(exported.csv)
    _broken(check, None, "truncated")
    assert check.events_checked == exported.note_sequence - 1
    assert check.sha256 == _file_sha(exported.csv)
    # Cut at the end of a row, a CSV file looks complete: only its count and SHA-256 differ.
    exported.csv.write_bytes(data[: data.index(b"\r\n", middle) + 2])
    check = check_export(exported.csv)
    assert check.intact and check.events_checked == exported.note_sequence
    assert check.sha256 != exported.sha256["csv"]


def test_a_json_export_cut_off_anywhere_is_truncated(exported: Exported, tmp_path: Path) -> None:
    data = exported.json.read_bytes()
    cut = tmp_path / "cut.json"
    step = max(1, len(data) // 97)
    for end in [*range(1, len(data) - 1, step), len(data) - 3]:
        cut.write_bytes(data[:end])
        check = check_export(cut)
        assert not check.intact, end
        assert "truncated" in (check.problem or "") or "cut off" in (check.problem or ""), (
            end,
            check.problem,
        )


def test_a_json_export_whose_counts_were_edited(exported: Exported) -> None:
    text = exported.json.read_text(encoding="utf-8")
    count = exported.events + 1
    exported.json.write_text(
        text.replace(f'"event_count": {count}', f'"event_count": {count + 1}'), encoding="utf-8"
    )
    _broken(check_export(exported.json), None, f"says it holds {count + 1} events")


def test_a_latin1_resaved_csv_export(exported: Exported) -> None:
    text = exported.csv.read_bytes().decode("utf-8")
    exported.csv.write_bytes(text.encode("latin-1"))
    check = check_export(exported.csv)
    _broken(check, None, "not UTF-8", "Latin-1")
    assert check.events_checked < exported.events
    assert check.sha256 == _file_sha(exported.csv)


@pytest.mark.parametrize("format", ["csv", "json"])
def test_garbage_bytes_in_the_middle(exported: Exported, format: str) -> None:
    path = exported.csv if format == "csv" else exported.json
    data = path.read_bytes()
    middle = data.index(b"audit.verified")
    path.write_bytes(data[:middle] + bytes(range(128, 256)) + b"\x00\x01" + data[middle:])
    check = check_export(path)
    assert not check.intact and "UTF-8" in (check.problem or "")


@pytest.mark.parametrize(
    ("format", "junk", "expected"),
    [
        ("csv", "#~ junk, more ~#\r\n", "has 2 fields instead of 10"),
        ("csv", "#~ junk ~#", "the sequence '#~ junk ~#"),
        ("csv", '"unclosed" quote,\r\n', "not a well-formed CSV row"),
        ("json", "#~ junk ~#", "malformed"),
    ],
)
def test_ascii_junk_in_the_middle_is_a_malformed_row(
    exported: Exported, format: str, junk: str, expected: str
) -> None:
    path = exported.csv if format == "csv" else exported.json
    text = path.read_text(encoding="utf-8")
    cut = text.index("audit.verified")
    cut = text.rindex("\n", 0, cut) + 1  # the start of that event's line
    path.write_text(text[:cut] + junk + text[cut:], encoding="utf-8")
    check = check_export(path)
    assert not check.intact
    assert expected in (check.problem or ""), check.problem
    assert check.events_checked == exported.note_sequence


def test_a_missing_column(exported: Exported, tmp_path: Path) -> None:
    with exported.csv.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow(row[:8] + row[9:])  # without "hash"
    exported.csv.write_text(out.getvalue(), encoding="utf-8", newline="")
    _broken(check_export(exported.csv), None, "column hash is missing")


@pytest.mark.parametrize("format", ["csv", "json"])
def test_a_huge_field_is_refused_with_a_plain_message(
    exported: Exported, format: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_export_read, "MAX_EVENT_CHARS", 200_000)
    path = exported.csv if format == "csv" else exported.json
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("Café", "Café" + "x" * 300_000), encoding="utf-8")
    check = check_export(path)
    _broken(check, None, "longer than 200,000 characters")
    assert check.events_checked == exported.note_sequence - 1


def test_a_huge_field_at_the_real_limit(exported: Exported) -> None:
    """Beyond 16 MiB characters in one CSV line: refused, not read whole."""
    text = exported.csv.read_text(encoding="utf-8")
    huge = "x" * (audit_export_read.MAX_EVENT_CHARS + 10)
    exported.csv.write_text(text.replace("Café", huge), encoding="utf-8")
    _broken(check_export(exported.csv), None, "longer than 16,777,216 characters")


def test_files_that_are_no_export_at_all(tmp_path: Path) -> None:
    cases = {
        "empty.csv": b"",
        "garbage.bin": bytes(range(256)) * 40,
        "latin.csv": "Séquence;Acteur\r\n".encode("latin-1"),
        "other.json": b'{"name": "not an export", "items": [1, 2]}',
    }
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(InvalidInput, match=r"not an audit export|is empty"):
            check_export(path)
    with pytest.raises(StorageError, match="cannot be read"):
        check_export(tmp_path / "nothing-here.csv")
    with pytest.raises(InvalidInput, match="is a folder"):
        check_export(tmp_path)
