"""`memberops members import|export`: member CSV import and CSV/XLSX export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from memberops.cli.common import console, err_console, fail, handle_errors, open_db, settings, uow
from memberops.errors import ValidationFailed
from memberops.members import exporting, importing, queries
from memberops.members.queries import MemberFilter

app = typer.Typer(help="Members: CSV import, CSV/XLSX export.", no_args_is_help=True)


def _progress() -> Progress:
    return Progress(TextColumn("{task.description:<11}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console)


def _print_row_errors(exc: ValidationFailed) -> None:
    for error in exc.errors:
        err_console.print(f"line {error['line']}: {error['field']}: {error['reason']}",
                          highlight=False, markup=False, soft_wrap=True)


def _import(path: Path, skip_invalid: bool) -> importing.ImportReport:
    data = path.read_bytes()
    db = open_db()
    bar = _progress()
    tasks: dict[str, int] = {}

    def advance(stage: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()  # only once the header is read: a refused file shows no bar
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done)

    try:
        with uow(db) as work:
            return importing.import_members(work, data, file_name=path.name,
                                            skip_invalid=skip_invalid, progress=advance)
    finally:
        if tasks:
            bar.stop()


@app.command("import")
@handle_errors
def import_members(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                                help="CSV with a header row; UTF-8 or GBK"),
    skip_invalid: bool = typer.Option(False, "--skip-invalid",
                                      help="import the good rows, write the others to --rejects"),
    rejects: Path | None = typer.Option(None, "--rejects",
                                        help="where rejected rows go [default: FILE.rejects.csv]"),
) -> None:
    """Import members from a CSV: every row is checked first; all rows or none by default."""
    try:
        report = _import(file, skip_invalid)
    except ValidationFailed as exc:
        if exc.code != "import_invalid":
            raise
        _print_row_errors(exc)
        raise fail(f"{exc.detail}; fix the rows above, or use --skip-invalid "
                   f"[{exc.code}]") from None
    if report.header.ignored:
        console.print("ignored columns (set by the system): " + ", ".join(report.header.ignored),
                      highlight=False)
    console.print(f"imported {report.imported} of {report.total} members from {file.name}",
                  highlight=False)
    if report.rejected:
        target = rejects or file.with_name(file.name + ".rejects.csv")
        target.write_text(importing.rejects_csv(report.header, report.rejected),
                          encoding="utf-8-sig", newline="")
        console.print(f"{len(report.rejected)} rows rejected, written to {target}",
                      highlight=False)


def _day_start(day: datetime | None, tz: tzinfo, *, next_day: bool = False) -> datetime | None:
    if day is None:
        return None
    local: date = day.date() + timedelta(days=1 if next_day else 0)
    return datetime.combine(local, time.min, tzinfo=tz)


def _export(path: Path, fmt: exporting.Format, filters: MemberFilter) -> int:
    db = open_db()
    tz = settings().tz
    with uow(db) as work:
        count = queries.count(work.session, filters)
        exporting.record_export(work, filters, fmt=fmt, rows=count)
    partial = path.with_name(path.name + ".part")  # never leave half a file under `path`
    try:
        with _progress() as bar, uow(db, readonly=True) as work, partial.open("wb") as target:
            task = bar.add_task("exporting", total=count)

            def advance(done: int) -> None:
                bar.update(task, completed=done)

            rows = exporting.records(work.session, filters, tz)
            if fmt == "xlsx":
                exporting.write_xlsx(rows, target, advance)
            else:
                for chunk in exporting.csv_chunks(rows, advance):
                    target.write(chunk)
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return count


@app.command("export")
@handle_errors
def export_members(
    output: Path = typer.Option(..., "--output", "-o", dir_okay=False, help="file to write"),
    fmt: str | None = typer.Option(None, "--format",
                                   help="csv or xlsx [default: from --output's suffix, else csv]"),
    tag: str | None = typer.Option(None), tier: str | None = typer.Option(None),
    status: str | None = typer.Option(None),
    region: str | None = typer.Option(None, help="province or city"),
    channel: str | None = typer.Option(None),
    q: str | None = typer.Option(None, "--q", help="name/phone/email fragment"),
    joined_from: datetime | None = typer.Option(None, formats=["%Y-%m-%d"],
                                                help="first day, inclusive"),
    joined_to: datetime | None = typer.Option(None, formats=["%Y-%m-%d"],
                                              help="last day, inclusive"),
) -> None:
    """Export the members matching the filters (as GET /members) to CSV or XLSX."""
    chosen = (fmt or ("xlsx" if output.suffix.lower() == ".xlsx" else "csv")).lower()
    if chosen not in exporting.FORMATS:
        raise fail(f"unknown format {fmt!r}; use csv or xlsx")
    tz = settings().tz
    filters = MemberFilter(q=q, tag=tag, tier=tier, status=status, region=region,
                           channel=channel, joined_from=_day_start(joined_from, tz),
                           joined_to=_day_start(joined_to, tz, next_day=True))
    count = _export(output, "xlsx" if chosen == "xlsx" else "csv", filters)
    console.print(f"exported {count} members to {output}", highlight=False)
