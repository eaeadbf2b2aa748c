"""Member export: any member search as CSV (re-importable) or XLSX (for spreadsheets).

`records` reads the members a batch at a time; `csv_chunks` and `write_xlsx` turn the
records into a file. The CSV has the import's header names and is UTF-8 with a BOM,
so Excel shows Chinese correctly and `memberops members import` reads it back.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields
from datetime import date, datetime, tzinfo
from typing import IO, TYPE_CHECKING, Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from memberops import cells
from memberops.audit import service as audit
from memberops.members import queries, rules
from memberops.members.importing import COLUMNS
from memberops.members.models import Member
from memberops.members.queries import MemberFilter
from memberops.uow import UnitOfWork

if TYPE_CHECKING:
    from openpyxl.cell import WriteOnlyCell

Format = Literal["csv", "xlsx"]
FORMATS: tuple[Format, ...] = ("csv", "xlsx")
MEDIA_TYPES: dict[Format, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# id first and tier/status last: set by the system, and read past by the import.
HEADER = ("id", *COLUMNS, "tier", "status")
BATCH = 500
BOM = "\ufeff"

Cell = str | int | bool | date | datetime | None
Progress = Callable[[int], None]  # rows written so far


def file_name(fmt: Format, now: datetime, tz: tzinfo) -> str:
    """members-20260615-100000.csv, stamped with the programme-local time."""
    return f"members-{now.astimezone(tz):%Y%m%d-%H%M%S}.{fmt}"


def _record(member: Member, referrer_phone: str | None, tz: tzinfo) -> list[Cell]:
    consents = {c.channel: c.granted for c in member.consents}
    return [member.id, member.phone, member.name, member.email, member.birthday,
            member.gender, member.province, member.city, member.channel,
            "|".join(member.tag_names), member.joined_at.astimezone(tz),
            *(consents.get(channel) for channel in rules.CONSENT_CHANNELS),
            referrer_phone, member.tier, member.status]


def _records_of(session: Session, batch: list[Member], tz: tzinfo) -> Iterator[list[Cell]]:
    referrer_ids = {m.referrer_id for m in batch if m.referrer_id is not None}
    phones: dict[int, str] = {}
    if referrer_ids:
        query = select(Member.id, Member.phone).where(Member.id.in_(referrer_ids))
        phones = {member_id: phone for member_id, phone in session.execute(query)}
    for member in batch:
        referrer = phones.get(member.referrer_id) if member.referrer_id is not None else None
        yield _record(member, referrer, tz)


def records(session: Session, filters: MemberFilter, tz: tzinfo) -> Iterator[list[Cell]]:
    """One list of cells per matching member, oldest first (so referrers come first)."""
    batch: list[Member] = []
    for member in queries.iterate(session, filters, batch=BATCH):
        batch.append(member)
        if len(batch) == BATCH:
            yield from _records_of(session, batch, tz)
            batch = []
    yield from _records_of(session, batch, tz)


def csv_text(value: Cell) -> str:
    """A cell as the import reads it back: ISO dates, true/false, empty for nothing, text
    that a spreadsheet would take for a formula escaped (`memberops.cells`)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):  # datetime too: ISO 8601 with its offset
        return value.isoformat()
    return cells.safe(str(value))


def csv_chunks(rows: Iterable[list[Cell]], progress: Progress | None = None,
               every: int = BATCH) -> Iterator[bytes]:
    """The CSV file as UTF-8 byte chunks, BOM and header first (for streaming)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    out.write(BOM)
    writer.writerow(HEADER)
    count = 0
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
        count += 1
        if count % every == 0:
            yield out.getvalue().encode()
            out.seek(0)
            out.truncate()
            if progress is not None:
                progress(count)
    yield out.getvalue().encode()
    if progress is not None:
        progress(count)


def _xlsx_cell(sheet: Any, value: Cell) -> WriteOnlyCell:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, datetime):  # Excel has no time zones: programme-local wall time
        value = value.replace(tzinfo=None)
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, even if a name starts with "="
    elif isinstance(value, datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, date):
        cell.number_format = "yyyy-mm-dd"
    return cell


def write_xlsx(rows: Iterable[list[Cell]], target: IO[bytes],
               progress: Progress | None = None) -> int:
    """Write an XLSX workbook (openpyxl write-only mode); returns the number of rows."""
    from openpyxl import Workbook  # here: a quarter of a second that a CSV need not wait

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("members")
    sheet.freeze_panes = "A2"
    sheet.append(list(HEADER))
    count = 0
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        count += 1
        if progress is not None and count % BATCH == 0:
            progress(count)
    workbook.save(target)
    if progress is not None:
        progress(count)
    return count


def record_export(uow: UnitOfWork, filters: MemberFilter, *, fmt: Format, rows: int) -> None:
    """Bulk personal data leaves the system: say who took what, in the audit log."""
    criteria: dict[str, Any] = {f.name: getattr(filters, f.name) for f in fields(filters)
                                if getattr(filters, f.name) is not None}
    if filters.among is not None:  # a select of ids: named by its label
        criteria["among"] = filters.among.label
    audit.record(uow, action="members.exported", target_type="member_export", target_id=fmt,
                 changes=audit.diff({}, {"filters": criteria, "rows": rows}))
