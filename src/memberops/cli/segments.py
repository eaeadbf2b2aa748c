"""`memberops analytics segments …`: preview a definition file, save it, list saved
segments, take a snapshot of one, and export a snapshot's members (docs/segments.md).

Definitions are JSON files (`{"all": [...]}` or `{"any": [...]}`); preview and snapshots
read the store named by MEMBEROPS_DATABASE_URL as of a date (today in the programme's
time zone unless `--as-of` says otherwise). Polars is imported inside the commands.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from memberops.cli.common import (
    as_of_date,
    console,
    err_console,
    fail,
    handle_errors,
    open_db,
    settings,
    uow,
)

app = typer.Typer(help="Segments (人群): rule-based member groups, previews, snapshots, "
                       "exports.", no_args_is_help=True)
FILE = typer.Argument(..., exists=True, dir_okay=False, readable=True,
                      help="the definition, JSON")
AS_OF = typer.Option(None, "--as-of", formats=["%Y-%m-%d"],
                     help="the day to evaluate on, YYYY-MM-DD [default: today]")


def _read(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{path}: not JSON ({exc})") from None


def _data() -> Any:
    from memberops.analytics import segments as rules

    cfg = settings()
    with err_console.status("Reading the store…"):
        return rules.load(cfg.database_url, cfg.timezone)


@app.command("preview")
@handle_errors
def preview(file: Path = FILE, as_of: datetime | None = AS_OF,
            json_out: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """How many members the definition selects, and the first ten."""
    from memberops.analytics import segments as rules

    definition = rules.parse(_read(file))
    day = as_of_date(as_of)
    shown = rules.preview(_data(), definition, day)
    if json_out:
        console.print_json(json.dumps({**shown, "as_of": day.isoformat()}))
        return
    console.print(f"{shown['count']} members as of {day.isoformat()}")
    table = Table("member_id", "tier", title="first ten")
    for row in shown["sample"]:
        table.add_row(str(row["member_id"]), row["tier"] or "")
    console.print(table)


@app.command("create")
@handle_errors
def create(name: str = typer.Option(..., "--name", help="a unique name"),
           file: Path = typer.Option(..., "--file", exists=True, dir_okay=False,
                                     readable=True, help="the definition, JSON"),
           description: str | None = typer.Option(None, "--description")) -> None:
    """Save a definition under a unique name; prints its id."""
    from memberops.segments import service

    definition = _read(file)
    with uow(open_db()) as work:
        segment = service.create(work, name=name, definition=definition,
                                 description=description)
        console.print(f"segment {segment.id} {segment.name!r} saved")


@app.command("list")
@handle_errors
def list_segments() -> None:
    """Saved segments, newest first, with their latest snapshot."""
    from memberops.segments import service

    table = Table("id", "name", "updated", "latest snapshot", "members")
    with uow(open_db(), readonly=True) as work:
        for segment in service.list_segments(work, limit=service.MAX_LIMIT):
            latest = service.snapshots(work, segment.id, limit=1)
            table.add_row(str(segment.id), segment.name, segment.updated_at.date().isoformat(),
                          f"{latest[0].id} ({latest[0].as_of.isoformat()})" if latest else "",
                          str(latest[0].member_count) if latest else "")
    console.print(table)


@app.command("snapshot")
@handle_errors
def snapshot(segment_id: int = typer.Argument(..., min=1, help="segment id"),
             as_of: datetime | None = AS_OF) -> None:
    """Evaluate a saved segment and freeze its members; prints the snapshot id."""
    from memberops.segments import service

    day = as_of_date(as_of)
    db = open_db()
    data = _data()
    with uow(db) as work:
        taken = service.take_snapshot(work, segment_id, data=data, as_of=day)
        console.print(f"snapshot {taken.id} of segment {segment_id}: {taken.member_count} "
                      f"members as of {day.isoformat()}")


@app.command("export")
@handle_errors
def export(snapshot_id: int = typer.Argument(..., min=1, help="snapshot id"),
           output: Path = typer.Option(..., "--output", "-o", dir_okay=False,
                                       help="the CSV file to write")) -> None:
    """Write a snapshot's member ids to a CSV file (`member_id`, ascending)."""
    from memberops.segments import service

    with uow(open_db()) as work:
        segment_id = service.snapshot_segment(work, snapshot_id)
        ids = service.export(work, segment_id, snapshot_id)
    with output.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["member_id"])
        writer.writerows([i] for i in ids)
    console.print(f"{len(ids)} members of snapshot {snapshot_id} written to {output}")
