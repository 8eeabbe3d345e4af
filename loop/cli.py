"""The ``loop`` command: a thin shell over the package.

```
loop generate     write a deterministic sample period into the landing folder
loop demo         play the sample world day by day through Airflow, each day reacting to the loop's actions
loop run          run daily cycles through Airflow (embedded: SQLite + LocalExecutor) and print a summary
loop status       each cycle's outcome and durations, rows per source, drift, validation, publications
loop quarantine   list, explain and replay quarantined records
loop query        read-only SQL on the published marts, printed as a table
loop export       a pillar's published dataset to Parquet or CSV, a filtered feedback pull, or the audiences
loop collect      receive events from the Segment and RudderStack SDKs over HTTP into the landing folder
loop ui           pages for marketers and product teams on the published datasets, in a browser (127.0.0.1)
```
Errors are printed as one sentence; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from loop.errors import LoopError
from loop.settings import PUBLISHED_PILLARS, Settings, get_settings

# Tables stay readable when the output is a log file or a CI console rather than a terminal.
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-03-02") from None


def _table(rows: list[dict[str, Any]], title: str | None = None) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for name in rows[0] if rows else []:
        table.add_column(str(name), overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row.values()))
    return table


# ----------------------------------------------------------------------------------------------------------------
# generate
# ----------------------------------------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace, settings: Settings) -> int:
    from rich.progress import Progress

    from loop.sample import generate, read_actions

    last = args.start + timedelta(days=args.days - 1)
    outside = [d for d in args.dates or () if not args.start <= d <= last]
    if outside:
        raise LoopError(f"--date {outside[0]} is not a day of the period {args.start} to {last}.")
    settings.ensure_dirs()
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task("generating days", total=args.days)
        summary = generate(
            settings.landing_dir,
            customers=args.customers,
            days=args.days,
            start=args.start,
            seed=args.seed,
            bad_fraction=args.bad_fraction,
            actions=read_actions(settings) if args.react else None,
            days_to_write=args.dates,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    end = summary.start + timedelta(days=summary.days - 1)
    written = f"{len(summary.days_written)} of the " if args.dates else ""
    reacting = f", reacting to {summary.actions} recorded action(s)" if args.react else ""
    console.print(
        f"Generated {written}{summary.days} days ({summary.start} to {end}) for {summary.customers} customers"
        f"{reacting} into {settings.landing_dir}: {summary.events:,} events in {summary.files} files, "
        f"{sum(summary.bad_records.values()):,} planted bad records."
    )
    console.print(_table([{"source": k, "records": f"{v:,}"} for k, v in summary.records.items()]))
    console.print(f"Next: [bold]loop run --from {summary.start} --to {end}[/bold]")
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from loop.sample.demo import DemoPlan, run_demo

    plan = DemoPlan(args.customers, args.days, args.start, args.seed)
    outcome = run_demo(settings, plan, console=console)
    print_summary(settings, plan.start, plan.end, outcome.runs)
    if outcome.failed:
        err_console.print(
            f"[red]{len(outcome.failed)} of {len(outcome.runs)} cycle(s) failed[/red]: "
            + "; ".join(f"{r.cycle_date} ({', '.join(r.failed_tasks) or r.state})" for r in outcome.failed)
            + ". Run `loop demo` with the same arguments again to continue from the first of them."
        )
        return 1
    return 0


# ----------------------------------------------------------------------------------------------------------------
# run
# ----------------------------------------------------------------------------------------------------------------


def _landed_dates(settings: Settings) -> list[date]:
    from loop.landing import landed_dates

    return landed_dates(settings.landing_dir)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from loop.orchestrate.embedded import CycleRun, cycles_progress, run_cycles

    if args.date:
        start = end = args.date
    elif args.start or args.end:
        if not (args.start and args.end):
            raise LoopError("Give both --from and --to, or --date for a single cycle.")
        start, end = args.start, args.end
    else:
        dates = _landed_dates(settings)
        if not dates:
            from loop.landing.layout import survey

            notices = survey(settings.landing_dir)
            hint = (
                f" ({len(notices)} path(s) there do not fit the layout, e.g. {notices[0].path}: {notices[0].notice})"
                if notices
                else ""
            )
            raise LoopError(
                f"No landed files under {settings.landing_dir}; run `loop generate` or drop files there first{hint}."
            )
        start, end = dates[0], dates[-1]
    total = (end - start).days + 1
    from loop.orchestrate.environment import run_dir
    from loop.orchestrate.supervisor import live_state

    state = live_state(run_dir(settings), wait=0)
    where = "the standing deployment (loop serve)" if state else "Airflow (embedded, LocalExecutor)"
    refresh = f"full-refresh:{uuid.uuid4().hex}" if args.full_refresh else None
    rebuilt = ", rebuilding every model from all events first" if refresh else ""
    console.print(f"Running {total} daily cycle(s), {start} to {end}, through {where}{rebuilt}…")
    with cycles_progress(console, "cycles") as bar:
        task = bar.add_task("starting Airflow", total=total)

        def progress(runs: list[CycleRun]) -> None:
            finished = [r for r in runs if r.state in ("success", "failed")]
            running = [r for r in runs if r.state == "running"]
            label = "waiting for the scheduler"
            if running:
                active = [t for t, s in running[0].tasks.items() if s == "running"] or ["scheduling"]
                label = f"cycle {running[0].cycle_date}: {', '.join(sorted(active))}"
            bar.update(task, completed=len(finished), description=label)

        runs = run_cycles(settings, start, end, progress, full_refresh=refresh)
    print_summary(settings, start, end, runs)
    failed = [r for r in runs if r.state != "success"]
    if failed:
        err_console.print(
            f"[red]{len(failed)} of {len(runs)} cycle(s) failed[/red]: "
            + "; ".join(f"{r.cycle_date} ({', '.join(r.failed_tasks) or r.state})" for r in failed)
        )
        return 1
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from loop.orchestrate.standing import serve

    return serve(settings, say=console.print)


def cmd_collect(args: argparse.Namespace, settings: Settings) -> int:
    from loop.collect import serve

    host = settings.collect_host if args.host is None else args.host
    port = settings.collect_port if args.port is None else args.port
    return serve(
        settings,
        host=host,
        port=port,
        say=lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True),
    )


def cmd_ui(args: argparse.Namespace, settings: Settings) -> int:
    from loop.ui.server import serve

    return serve(
        settings,
        port=args.port,
        open_browser=args.open,
        say=lambda text: console.print(text, markup=False, highlight=False, soft_wrap=True),
    )


def print_summary(settings: Settings, start: date, end: date, runs: list[Any]) -> None:
    from loop.status import cycle_status, scorecard_extremes

    status = cycle_status(settings, start, end)
    ok = sum(1 for r in runs if r.state == "success")
    console.rule(f"loop — {len(runs)} cycle(s) {start} to {end}: {ok} succeeded")
    if status.sources:
        console.print(_table(status.sources, "Landing per source (rows read = loaded + quarantined)"))
    if status.quarantine_reasons:
        console.print(_table(status.quarantine_reasons, "Top quarantine reasons (loop quarantine list)"))
    _print_attention(status)
    if status.validations:
        latest: dict[str, dict[str, Any]] = {}
        failed_cycles: dict[str, int] = {}
        for v in status.validations:
            latest[v["pillar"]] = v
            failed_cycles[v["pillar"]] = failed_cycles.get(v["pillar"], 0) + (0 if v["success"] else 1)
        rows = [
            {
                "pillar": p,
                "last cycle": str(v["cycle_date"]),
                "validation": "passed" if v["success"] else "FAILED",
                "expectations": v["evaluated"],
                "cycles failed": failed_cycles[p],
            }
            for p, v in latest.items()
        ]
        console.print(_table(rows, "Great Expectations validation per pillar"))
        for v in status.validations:
            if not v["success"]:
                err_console.print(f"[red]{v['cycle_date']} {v['pillar']} not published:[/red] {v['summary']}")
    top, bottom = scorecard_extremes(settings)
    if top:
        console.print(_table(top, "Cycle scorecard: top campaigns (promise kept)"))
        console.print(_table(bottom, "Cycle scorecard: bottom campaigns"))
    _print_loop(settings)
    console.print(_table(status.publications, "Published datasets (current versions)"))
    console.print(
        f"Published datasets: {settings.published_dir}/<pillar>/manifest.json (Parquet). Query them with\n"
        "  loop query \"select * from campaign_scorecard where model = 'first_touch' order by scorecard_rank\"\n"
        "  loop export cycle --format csv --out ./exports     |   loop status"
    )


def _print_loop(settings: Settings) -> None:
    """The loop turning: the top product signal, the audiences, the actions taken and what they changed."""
    from loop.status import loop_turning

    turning = loop_turning(settings)
    if turning is None:
        return
    signal = turning["top_signal"]
    if signal:
        promises = ", ".join(signal["campaigns_broken"]) or "no campaign's promise"
        said = f' They said: "{signal["example_feedback"][0]}"' if signal["example_feedback"] else ""
        console.print(
            f"[bold]What to fix first:[/bold] {signal['product_area']} — {signal['symptom']}: "
            f"{signal['customers_affected']} customer(s) (revenue {signal['customer_revenue']}) over the last "
            f"days; it breaks the promise of {promises}.{said}"
        )
    if turning["audiences"]:
        console.print(_table(turning["audiences"], "Audiences (holdouts are never exported)"))
    if turning["actions"]:
        console.print(_table(turning["actions"], "Actions taken (the latest)"))
    if turning["outcomes"]:
        console.print(_table(turning["outcomes"], "What the actions changed, against their holdouts (95% intervals)"))


def _print_attention(status: Any) -> None:
    """Files set aside, layout notices and schema drift: what landing did not take, said out loud."""
    if status.set_aside:
        err_console.print(_table(status.set_aside, "Files set aside (not landed; fix them and rerun their day)"))
    if status.notices:
        err_console.print(_table(status.notices, "Not landed: the landing folder holds things outside its layout"))
    if status.drift:
        console.print(_table(status.drift, "Schema drift: columns or keys the contracts do not know (not landed)"))


# ----------------------------------------------------------------------------------------------------------------
# status / query / export
# ----------------------------------------------------------------------------------------------------------------


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from loop.status import cycle_status

    status = cycle_status(settings, last=args.last)
    if not status.cycles and not status.sources:
        console.print("No cycles have run yet. Start with `loop generate` and `loop run`.")
        return 0
    if status.cycles:
        console.print(_table(status.cycles, "Cycle attempts: outcome and step durations"))
    console.print(_table(status.sources, "Per source (rows read = loaded + quarantined, as they stand now)"))
    if status.quarantine_reasons:
        console.print(_table(status.quarantine_reasons, "Top quarantine reasons (details: loop quarantine list)"))
    _print_attention(status)
    if status.validations:
        rows = [
            {k: v for k, v in row.items() if k != "result_path"} | {"result": Path(row["result_path"]).name}
            for row in status.validations
        ]
        console.print(_table(rows, "Validation per pillar"))
    console.print(_table(status.publications, f"Published datasets ({settings.published_dir})"))
    return 0


def cmd_query(args: argparse.Namespace, settings: Settings) -> int:
    from loop.publish.reader import cap_process_memory, run_query

    cap_process_memory(settings)
    result = run_query(settings, args.sql, limit=args.limit)
    if args.format == "csv":
        import csv

        writer = csv.writer(sys.stdout)
        writer.writerow(result.columns)
        writer.writerows(result.rows)
        return 0
    console.print(_table([dict(zip(result.columns, row, strict=True)) for row in result.rows]))
    if result.truncated:
        console.print(f"(first {args.limit} rows; raise --limit to see more)")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from loop import publish
    from loop.publish.export import export_pillar

    if args.pillar == "feedback":
        return _export_feedback(args, settings)
    feedback_only = [
        option for option, value in (("--since", args.since), ("--area", args.areas), ("--kind", args.kinds)) if value
    ]
    if feedback_only:
        verb = "goes" if len(feedback_only) == 1 else "go"
        raise LoopError(f"{' and '.join(feedback_only)} {verb} with `loop export feedback`, not with {args.pillar}.")
    if args.pillar == "audiences":
        return _export_audiences(args, settings)
    if args.destination:
        raise LoopError("--destination goes with `loop export audiences`, not with a pillar.")
    for item in export_pillar(settings, args.pillar, Path(args.out or "exports"), args.format):
        console.print(f"{item.path}  ({item.rows:,} rows)")
    current = publish.current(settings, args.pillar)
    if current is not None:
        console.print(f"{args.pillar} as of {current.as_of} (version {current.version})")
    return 0


def _export_feedback(args: argparse.Namespace, settings: Settings) -> int:
    from loop.publish.export import export_feedback, split_values

    if args.destination:
        raise LoopError("--destination goes with `loop export audiences`, not with feedback.")
    out = Path(args.out) if args.out else Path("exports") / f"feedback.{args.format}"
    pull = export_feedback(
        settings,
        out,
        args.format,
        since=args.since,
        areas=split_values(args.areas),
        kinds=split_values(args.kinds),
    )
    source = pull.manifest["source"]
    hashed = ", ".join(pull.manifest["pseudonymized"]) or "none"
    console.print(f"{pull.path}  ({pull.rows:,} rows)", markup=False, highlight=False)
    console.print(f"{pull.manifest_path}  (filters, schema, SHA-256)", markup=False, highlight=False)
    console.print(
        f"product feedback as of {source['as_of']} (version {source['version']}); pseudonymized: {hashed}",
        markup=False,
        highlight=False,
    )
    return 0


def _export_audiences(args: argparse.Namespace, settings: Settings) -> int:
    from datetime import UTC, datetime

    from loop.activate import export_audiences

    if not args.destination:
        raise LoopError("`loop export audiences` needs --destination (customer-match, meta or owned).")
    out = Path(args.out) if args.out else settings.exports_dir
    run_id = f"export__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"
    exports = export_audiences(settings, args.destination, out, run_id=run_id)
    if not exports:
        console.print(f"No audience goes to {args.destination} (no audience of its channel in the marts).")
    for item in exports:
        excluded = ", ".join(f"{k} {v:,}" for k, v in item.excluded.items() if v) or "none"
        console.print(
            f"[bold]{item.audience_id}[/bold] -> {args.destination}: export {item.seq} ({item.kind}, as of "
            f"{item.as_of}), {item.rows:,} rows now; left out: {excluded}",
            highlight=False,
        )
        for file in item.files:
            console.print(f"  {file.path}  ({file.rows:,} rows)", markup=False, highlight=False)
        for note in item.repaired:
            console.print(f"  repaired: {note}", markup=False, highlight=False)
    return 0


def cmd_quarantine(args: argparse.Namespace, settings: Settings) -> int:
    from loop import quarantine

    filters = quarantine.Filters(args.source, args.kind, args.date, args.file)
    if args.action == "show":
        if not args.file or not args.record_list:
            raise LoopError("`loop quarantine show` needs --file and --record (see `loop quarantine list`).")
        record = quarantine.explain(settings, args.file, args.record_list[0])
        console.print(
            f"[bold]{record['file']}[/bold], record {record['record']} ({record['source']}, {record['date']})"
        )
        console.print(f"kind: {record['kind']}{' (released)' if record['released'] else ''}")
        console.print(f"reason: {record['reason']}")
        console.print("payload:", markup=False)
        console.print(record["payload"], markup=False, soft_wrap=True)
        if record["contract"]:
            console.print("what the contract says:")
            for line in record["contract"]:
                console.print(f"  - {line}", markup=False)
        console.print("contract fields: " + "; ".join(record["fields"]), markup=False)
        return 0
    if args.action == "isolate":
        from datetime import UTC, datetime

        if not args.file:
            raise LoopError("`loop quarantine isolate` needs --file (and --record to isolate only some records).")
        run_id = f"isolate__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"
        count = quarantine.isolate(settings, args.file, args.record_list, args.reason or "", run_id)
        console.print(
            f"Isolated {count} record(s) of {args.file}. Run `loop run --date <day>` to rebuild and publish "
            "without them; `loop quarantine replay --kind isolated --file ...` brings them back."
        )
        return 0
    if args.action == "replay":
        from datetime import UTC, datetime

        run_id = f"replay__{datetime.now(UTC):%Y-%m-%dT%H:%M:%S}"
        outcome = quarantine.replay(settings, filters, run_id)
        if not outcome.evaluated:
            console.print("Nothing held matches; nothing to replay.")
            return 0
        if outcome.files:
            rows = [
                {"file": r.file, "rows read": r.rows_read, "landed": r.rows_loaded, "still held": r.rows_quarantined}
                for r in outcome.files
            ]
            console.print(_table(rows, "Files that got records back (as they stand now)"))
        console.print(
            f"{outcome.released} of {outcome.evaluated} record(s) released; the others stay held with their current "
            "reason. Run `loop run --date <day>` for the days concerned to rebuild and publish the marts."
        )
        return 0
    summary = quarantine.summary(settings, filters)
    if not summary:
        console.print(
            "Nothing is held in quarantine" + (" for these filters." if filters != quarantine.Filters() else ".")
        )
        return 0
    console.print(_table(summary, "Held in quarantine"))
    console.print(_table(quarantine.records(settings, filters, args.limit), f"Held records (first {args.limit})"))
    console.print(
        "Explain one: loop quarantine show --file <file> --record <n>    Replay: loop quarantine replay [...]"
    )
    return 0


# ----------------------------------------------------------------------------------------------------------------
# entry point
# ----------------------------------------------------------------------------------------------------------------


def _port(text: str) -> int:
    """A TCP port from the command line (0: a free one), refused before anything starts when out of range."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port (0-65535; 0 picks a free one)")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loop", description="The customer data loop, run on data.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a deterministic sample period into the landing folder")
    gen.add_argument("--customers", type=int, default=3000, help="customers in the sample (default 3000)")
    gen.add_argument("--days", type=int, default=14, help="days in the period (default 14)")
    gen.add_argument("--start", type=_date, default=date(2026, 3, 2), help="first day (default 2026-03-02)")
    gen.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    gen.add_argument("--bad-fraction", type=float, default=0.01, help="share of bad records (default 0.01)")
    gen.add_argument("--react", action="store_true", help="react to the actions recorded in the warehouse")
    gen.add_argument("--date", type=_date, action="append", dest="dates", help="write only this day (repeatable)")
    gen.set_defaults(func=cmd_generate)

    demo = sub.add_parser("demo", help="play the sample world day by day through Airflow, reacting to the actions")
    demo.add_argument("--customers", type=int, default=3000, help="customers in the sample (default 3000)")
    demo.add_argument("--days", type=int, default=21, help="days in the period (default 21)")
    demo.add_argument("--start", type=_date, default=date(2026, 3, 2), help="first day (default 2026-03-02)")
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.set_defaults(func=cmd_demo)

    run = sub.add_parser("run", help="run daily cycles through Airflow and print a summary")
    run.add_argument("--date", type=_date, help="run the cycle of this one day")
    run.add_argument("--from", dest="start", type=_date, help="first cycle date of a range")
    run.add_argument("--to", dest="end", type=_date, help="last cycle date of a range (inclusive)")
    run.add_argument(
        "--full-refresh",
        action="store_true",
        help="the first cycle rebuilds every model from all events (dbt --full-refresh); the next build on it",
    )
    run.set_defaults(func=cmd_run)

    serve = sub.add_parser("serve", help="a standing Airflow with its UI and the daily schedule, in the foreground")
    serve.set_defaults(func=cmd_serve)

    collect = sub.add_parser(
        "collect", help="receive events from the Segment and RudderStack SDKs into the landing folder (HTTP)"
    )
    collect.add_argument(
        "--port", type=_port, help="port to listen on (default LOOP_COLLECT_PORT, 8088; 0: a free one)"
    )
    collect.add_argument("--host", help="address to listen on (default LOOP_COLLECT_HOST, 127.0.0.1)")
    collect.set_defaults(func=cmd_collect)

    ui = sub.add_parser("ui", help="pages for marketers and product teams on the published datasets (web, 127.0.0.1)")
    ui.add_argument("--port", type=_port, help="port to listen on (default 8501; 0: a free one)")
    ui.add_argument("--open", action="store_true", help="open the pages in the default browser")
    ui.set_defaults(func=cmd_ui)

    status = sub.add_parser("status", help="last cycles, rows landed/quarantined, validation results")
    status.add_argument("--last", type=int, default=7, help="how many cycle dates (default 7)")
    status.set_defaults(func=cmd_status)

    query = sub.add_parser("query", help="read-only SQL on the published marts")
    query.add_argument("sql", help='e.g. "select * from campaign_scorecard order by scorecard_rank"')
    query.add_argument("--limit", type=int, default=50, help="rows to print (default 50)")
    query.add_argument("--format", choices=("table", "csv"), default="table")
    query.set_defaults(func=cmd_query)

    quarantine = sub.add_parser("quarantine", help="list, explain and replay quarantined records")
    quarantine.add_argument("action", nargs="?", choices=("list", "show", "replay", "isolate"), default="list")
    quarantine.add_argument("--source", help="one source (events, touches, ...)")
    quarantine.add_argument("--kind", help="one kind of reason (contract, duplicate, unknown_reference, ...)")
    quarantine.add_argument("--date", type=_date, help="one landing date")
    quarantine.add_argument("--file", help="one file, as listed (path under the landing folder)")
    quarantine.add_argument(
        "--record",
        type=int,
        action="append",
        dest="record_list",
        help="a record's position in its file (show: one; isolate: repeat for several)",
    )
    quarantine.add_argument("--reason", help="with isolate: why (shown in the quarantine)")
    quarantine.add_argument("--limit", type=int, default=20, help="records listed (default 20)")
    quarantine.set_defaults(func=cmd_quarantine)

    export = sub.add_parser(
        "export",
        help="a pillar's published dataset to Parquet or CSV files, a filtered feedback pull, or the audiences for "
        "a destination",
        description="loop export PILLAR: every current table of a pillar. loop export feedback: the published "
        "product feedback (customer ids pseudonymized), filtered, as one file plus <file>.manifest.json, e.g. "
        "`loop export feedback --since 2026-03-10 --area checkout --out pulls/checkout.parquet`. "
        "loop export audiences --destination D: the audience files for an ad platform or owned tool.",
    )
    export.add_argument(
        "pillar",
        choices=(*PUBLISHED_PILLARS, "feedback", "audiences"),
        help="a pillar, `feedback` (a filtered pull of product feedback) or `audiences`",
    )
    export.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    export.add_argument(
        "--destination", choices=("customer-match", "meta", "owned"), help="with `audiences`: where they go (required)"
    )
    export.add_argument(
        "--out",
        help="output folder (default ./exports for a pillar, <data dir>/exports for audiences); for feedback, the "
        "output file (default ./exports/feedback.<format>; its manifest is written beside it)",
    )
    export.add_argument(
        "--since",
        type=_date,
        metavar="DATE",
        help="with feedback: only feedback submitted on or after this day (from midnight in LOOP_TIMEZONE)",
    )
    export.add_argument(
        "--area",
        action="append",
        dest="areas",
        metavar="AREA",
        help="with feedback: only these product areas (repeat, or a comma list: checkout,billing)",
    )
    export.add_argument(
        "--kind",
        action="append",
        dest="kinds",
        metavar="KIND",
        help="with feedback: only these kinds: nps, csat, ticket, feature_request, review (repeat, or a comma list)",
    )
    export.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        return int(args.func(args, settings))
    except LoopError as error:
        err_console.print(f"[red]error:[/red] {error}")
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as error:
        if args.debug:
            raise
        err_console.print(f"[red]unexpected error:[/red] {type(error).__name__}: {error} (rerun with --debug)")
        return 2


if __name__ == "__main__":
    sys.exit(main())
