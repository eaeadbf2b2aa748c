"""Member files: CSV import (upload) and CSV/XLSX export of any member search."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import IO, Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from memberops.api.deps import Context, authorize
from memberops.api.permissions import API_PREFIX
from memberops.api.routes.members import member_filter
from memberops.members import exporting, importing, queries
from memberops.members.exporting import Format
from memberops.members.queries import MemberFilter

router = APIRouter(prefix=API_PREFIX, tags=["members"], dependencies=[Depends(authorize)])
CHUNK = 64 * 1024
SPOOL_BYTES = 16 * 1024 * 1024  # an XLSX bigger than this is built on disk, not in memory


class RowProblem(BaseModel):
    line: int
    field: str
    reason: str


class ImportResult(BaseModel):
    file: str
    rows: int
    imported: int
    rejected: int
    ignored_columns: list[str]
    errors: list[RowProblem]


@router.post("/members/import", response_model=ImportResult, responses={
    422: {"description": "bad header (import_header), encoding (import_encoding), empty file "
                         "(import_empty) or invalid rows (import_invalid, with every "
                         "row's line, field and reason); nothing was imported"}})
def import_members(
    ctx: Annotated[Context, Depends(authorize)],
    file: Annotated[UploadFile, File(description="members CSV (UTF-8 or GBK)")],
    skip_invalid: Annotated[bool, Query(description="import the good rows, report the "
                                                    "others")] = False,
    skip_invalid_form: Annotated[bool, Form(alias="skip_invalid")] = False,
) -> ImportResult:
    """Import members from a CSV: all rows or none, unless skip_invalid is set."""
    data = file.file.read()
    name = file.filename or "upload.csv"
    with ctx.uow() as uow:
        report = importing.import_members(uow, data, file_name=name,
                                          skip_invalid=skip_invalid or skip_invalid_form)
    return ImportResult(file=name, rows=report.total, imported=report.imported,
                        rejected=len(report.rejected), ignored_columns=report.header.ignored,
                        errors=[RowProblem(**e.as_dict()) for e in report.errors])


def _csv_body(ctx: Context, filters: MemberFilter) -> Iterator[bytes]:
    # The read runs while the response streams: a read-only unit of work per download.
    with ctx.uow(readonly=True) as uow:
        rows = exporting.records(uow.session, filters, ctx.services.clock.tz)
        yield from exporting.csv_chunks(rows)


def _xlsx_file(ctx: Context, filters: MemberFilter) -> IO[bytes]:
    target = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 (streamed)
    with ctx.uow(readonly=True) as uow:
        exporting.write_xlsx(exporting.records(uow.session, filters, ctx.services.clock.tz),
                             target)
    target.seek(0)
    return target


def _stream(target: IO[bytes]) -> Iterator[bytes]:
    with target:
        while chunk := target.read(CHUNK):
            yield chunk


@router.get("/members/export", response_class=StreamingResponse, responses={
    200: {"description": "the file", "content": {
        exporting.MEDIA_TYPES["csv"]: {}, exporting.MEDIA_TYPES["xlsx"]: {}}}})
def export_members(
    ctx: Annotated[Context, Depends(authorize)],
    filters: Annotated[MemberFilter, Depends(member_filter)],
    fmt: Annotated[Format, Query(alias="format", description="csv or xlsx")] = "csv",
) -> StreamingResponse:
    """Download the members matching the filters of GET /members as CSV or XLSX."""
    with ctx.uow() as uow:
        count = queries.count(uow.session, filters)
        exporting.record_export(uow, filters, fmt=fmt, rows=count)
    name = exporting.file_name(fmt, ctx.services.clock.now(), ctx.services.clock.tz)
    body = _csv_body(ctx, filters) if fmt == "csv" else _stream(_xlsx_file(ctx, filters))
    return StreamingResponse(body, media_type=exporting.MEDIA_TYPES[fmt], headers={
        "Content-Disposition": f'attachment; filename="{name}"',
        "X-Total-Count": str(count)})
