"""`python -m cli.maintenance purge|export|restore|close-assessments`: the tables' upkeep.

The command line only: it reads the settings as the bot does (bot/settings.py), wires the
repositories of storage/ to the rules, prints and asks. What the purge deletes, anonymises and
keeps is dialogs/retention.py; the format of an export is storage/backup.py.

Settings: TABLES_CONNECTION_STRING and TABLE_PREFIX, as the bot reads them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.settings import SettingsError, TableSettings, assessment_min_answers
from cards.library import PackLibrary
from cards.packs import load_all
from dialogs import retention
from dialogs.assessment import AssessmentService
from dialogs.errors import DialogueError
from dialogs.retention import ANONYMISED, DELETED, KEPT, EntityPlan, Plan, Purge, Refused
from storage.errors import FAILURES
from storage.tables import TABLES, TableStore

# Exit statuses, so a scheduled job can tell the outcomes apart.
DONE = 0
NOT_CONFIRMED = 1
REFUSED = 2
SKIPPED = 3
STORAGE_FAILED = 4

# A storage fault, or a change that kept losing to concurrent writers: the run can be repeated.
_FAILED: tuple[type[Exception], ...] = (*FAILURES, DialogueError)
_PURGE_DESCRIPTION = (
    (retention.__doc__ or "").split("\n\n", 1)[1].strip()
    + "\n\nIt prints what it will change, and asks for the cycle year unless --yes.\n\n"
    + "Settings: TABLES_CONNECTION_STRING and TABLE_PREFIX, as the bot reads them."
)


def purge_of(store: TableStore, clock: Callable[[], datetime]) -> Purge:
    """The purge's rules over the store's repositories."""
    return Purge(
        sessions=store.sessions,
        attendance=store.attendance,
        polls=store.polls,
        assessments=store.assessments,
        feedback=store.feedback,
        queue=store.queue,
        rollup=store.rollup,
        directory=store.directory,
        retention=store.retention,
        jobs=store.jobs,
        packs=PackLibrary(load_all()),
        clock=clock,
    )


def describe(plan: Plan) -> str:
    """What the purge will do, for the operator to read before confirming."""
    lines = [f"Purge of personal data: cycle {plan.cycle} (the current cycle is {plan.current})."]
    for entity in plan.entities:
        if entity.certified_at:
            state = f"certified {entity.certified_at.date().isoformat()}"
        elif entity.sessions:
            state = "NOT certified (--force-uncertified)"
        else:
            state = "no sessions (an expected list only)"
        lines.append(f"  purge  {entity.code:<12} {_sessions(entity)}, {state}")
    for entity in plan.skipped:
        lines.append(
            f"  skip   {entity.code:<12} {_sessions(entity)}, not certified: "
            "nothing of it changes (--force-uncertified purges it too)"
        )
    counts = plan.counts()
    lines.append("Deletes:")
    lines += [f"  {name:<15} {counts[name]:>7}  {what}" for name, what in DELETED]
    lines.append("Anonymises:")
    lines += [f"  {name:<15} {counts[name]:>7}  {what}" for name, what in ANONYMISED]
    lines.append(f"Keeps: {KEPT}.")
    if plan.unanswered:
        lines.append(
            f"Warning: {plan.unanswered} forwarded question(s) still unanswered: after the purge "
            "a reply can no longer reach the leader."
        )
    lines.append("Backups taken before the purge still hold this data: delete them as well.")
    return "\n".join(lines)


def _sessions(entity: EntityPlan) -> str:
    count = len(entity.sessions)
    return f"{count:>5} session{'' if count == 1 else 's'}"


def _refusal(refused: Refused) -> str:
    if refused.current is None:
        return "The Dialogue has no current cycle yet: nothing can be past."
    return (
        f"Cycle {refused.cycle} is not past: the current cycle is {refused.current}. "
        "Set the next cycle with the bot's `admin` command first."
    )


def parser() -> argparse.ArgumentParser:
    """The command line."""
    main_parser = argparse.ArgumentParser(
        prog="python -m cli.maintenance",
        description="Maintenance of the Dialogue Bot's tables.",
    )
    commands = main_parser.add_subparsers(dest="command", required=True)
    purge = commands.add_parser(
        "purge",
        help="delete a past cycle's personal data once its roll-up is certified",
        description=_PURGE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=(
            f"exit status: {DONE} purged, {NOT_CONFIRMED} not confirmed, {REFUSED} refused, "
            f"{SKIPPED} purged but uncertified entities skipped, {STORAGE_FAILED} storage failed"
        ),
    )
    purge.add_argument("--cycle", type=int, required=True, help="the past cycle (year)")
    purge.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    purge.add_argument(
        "--force-uncertified",
        action="store_true",
        help="also purge entities that have not certified their Appendix E",
    )
    export = commands.add_parser(
        "export",
        help="copy every table to JSON-lines files (a backup, or the data for an audit)",
        description=(
            "Write one <table>.jsonl per table (every property with its type) and manifest.json "
            "into a new folder. The files hold personal data: keep them as the tables are kept. "
            "They hold no salt, keyed hash or vote: open polls are written closed with their "
            "tally as of the export, and Appendix F aggregates with their answer count only."
        ),
    )
    export.add_argument("--out", type=Path, required=True, help="a folder that does not exist yet")
    commands.add_parser(
        "close-assessments",
        help="close the Appendix F assessments whose time has come (the bot does it hourly)",
        description=(
            "Close every Appendix F assessment open past its time, as the bot's hourly sweep "
            "does: its salt and keys are replaced by the count, and its results kept only if "
            "at least ASSESSMENT_MIN_ANSWERS (default 3) answered. Safe to run at any time."
        ),
    )
    restore = commands.add_parser(
        "restore",
        help="write an export back into the tables (upserts: existing rows are replaced)",
        description=(
            "Upsert every row of an export into the tables TABLE_PREFIX names. Restoring an "
            "export older than a purge brings the purged names back: purge again after it."
        ),
    )
    restore.add_argument(
        "--from", dest="source", type=Path, required=True, help="the export's folder"
    )
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return main_parser


async def run(
    args: argparse.Namespace,
    env: Mapping[str, str],
    out: TextIO,
    ask: Callable[[str], str],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> int:
    """Run a parsed command against the tables the environment names; the exit status."""
    try:
        settings = TableSettings.from_env(env)
    except SettingsError:
        print(
            "Set TABLES_CONNECTION_STRING (and TABLE_PREFIX if not dlg) as the bot has them.",
            file=out,
        )
        return REFUSED
    store = TableStore(settings.tables_connection_string, settings.table_prefix)
    try:
        await store.open()
        if args.command == "export":
            return await _export(store, args.out, out, clock)
        if args.command == "restore":
            return await _restore(store, args.source, args.yes, out, ask)
        if args.command == "close-assessments":
            return await _close_assessments(store, env, out, clock)
        return await _purge(purge_of(store, clock), args, out, ask)
    except _FAILED as error:
        print(
            f"Storage failed ({type(error).__name__}). Run the same command again: "
            "it finishes what is left.",
            file=out,
        )
        return STORAGE_FAILED
    finally:
        await store.close()


async def _purge(
    purge: Purge, args: argparse.Namespace, out: TextIO, ask: Callable[[str], str]
) -> int:
    try:
        plan = await purge.plan(args.cycle, force_uncertified=args.force_uncertified)
    except Refused as refusal:
        print(f"Refused. {_refusal(refusal)}", file=out)
        return REFUSED
    print(describe(plan), file=out)
    if not plan.entities:
        print("Nothing to purge.", file=out)
        return SKIPPED if plan.skipped else DONE
    if not args.yes:
        answer = ask(f"Type the cycle ({plan.cycle}) to delete this for good: ")
        if answer.strip() != str(plan.cycle):
            print("Not confirmed: nothing changed.", file=out)
            return NOT_CONFIRMED
    await purge.run(plan)
    print(f"Done: cycle {plan.cycle} purged.", file=out)
    return SKIPPED if plan.skipped else DONE


async def _close_assessments(
    store: TableStore, env: Mapping[str, str], out: TextIO, clock: Callable[[], datetime]
) -> int:
    try:
        minimum = assessment_min_answers(env)
    except SettingsError:
        print(
            "ASSESSMENT_MIN_ANSWERS must be a whole number from 2 to 50, as the bot has it.",
            file=out,
        )
        return REFUSED
    # Closing needs no secret: it only drops the salt and keys (the backup identity's rights).
    service = AssessmentService(
        store.assessments, store.attendance, "", minimum, clock, sessions=store.sessions
    )
    closed = await service.close_due()
    print(f"Closed {closed} Appendix F assessment(s) whose time had come.", file=out)
    return DONE


async def _export(
    store: TableStore, folder: Path, out: TextIO, clock: Callable[[], datetime]
) -> int:
    if not await asyncio.to_thread(_new_folder, folder):
        print(f"Refused. {folder} exists: an export goes into a new folder.", file=out)
        return REFUSED
    # No salt, keyed hash or vote leaves the tables: open polls are written closed, with
    # their tally as of now (storage/backup.py says what is left out and why).
    exported_at = clock()
    backup = await store.backup.filter_at(exported_at)
    counts = {}
    for name in TABLES:
        lines = await store.backup.exported(name, backup)
        await asyncio.to_thread(_write_lines, folder / f"{name}.jsonl", lines)
        counts[name] = len(lines)
    manifest = {"exported_at": exported_at.isoformat(), "tables": counts}
    await asyncio.to_thread(_write_lines, folder / "manifest.json", [json.dumps(manifest)])
    print(f"Exported {sum(counts.values())} rows of {len(counts)} tables to {folder}.", file=out)
    return DONE


async def _restore(
    store: TableStore, folder: Path, yes: bool, out: TextIO, ask: Callable[[str], str]
) -> int:
    (manifest_line,) = await asyncio.to_thread(_read_lines, folder / "manifest.json")
    manifest = json.loads(manifest_line)
    counts = manifest["tables"]
    print(f"Restore of the export of {manifest['exported_at']} into the tables:", file=out)
    for name, count in counts.items():
        print(f"  {store.table_name(name):<24} {count:>7} rows", file=out)
    if not yes and ask("Type restore to write them: ").strip() != "restore":
        print("Not confirmed: nothing changed.", file=out)
        return NOT_CONFIRMED
    for name in counts:
        lines = await asyncio.to_thread(_read_lines, folder / f"{name}.jsonl")
        await store.backup.restore(name, lines)
    print(f"Restored {sum(counts.values())} rows.", file=out)
    return DONE


def _new_folder(folder: Path) -> bool:
    """Create the folder; False when it exists already."""
    try:
        folder.mkdir(parents=True)
    except FileExistsError:
        return False
    return True


def _write_lines(path: Path, lines: list[str]) -> None:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _read_lines(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


def _ask(prompt: str) -> str:
    """Read the confirmation; no terminal (a scheduled job) means no confirmation."""
    try:
        return input(prompt)
    except EOFError:
        return ""


def main(argv: list[str] | None = None) -> int:
    """Entry point of `python -m cli.maintenance`."""
    args = parser().parse_args(argv)
    return asyncio.run(run(args, os.environ, sys.stdout, _ask))


if __name__ == "__main__":
    sys.exit(main())
