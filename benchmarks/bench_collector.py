"""Benchmark: events per second `loop collect` acknowledges durable, sent by the real Segment Python SDK.

Not a test: it prints figures. Example:

    .venv/bin/python benchmarks/bench_collector.py --events 200000 --processes 3

1. Starts ``loop collect --port 0`` on a scratch data directory.
2. Starts ``--processes`` client processes; each sends its share of track events through
   ``segment.analytics.Client`` with the SDK's default batching (100 events or 0.5 s per request, one upload thread,
   gzip off) and then ``flush()``es, which returns once every batch was answered. A batch counts as acknowledged
   when the collector answered 200, i.e. after its events were written and fsynced; failures reach ``on_error``.
3. Prints acknowledged events/s over the whole send (first event to the last flush), stops the collector
   (SIGTERM: the open part is closed into its date folder) and checks that the landing folder holds every
   acknowledged event once.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

WRITE_KEY = "bench-key"


def _client(url: str, share: int, offset: int, start_at: float, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    from segment.analytics import Client

    failed: list[int] = []
    client = Client(
        WRITE_KEY,
        host=url,
        max_queue_size=share + 1,
        on_error=lambda error, batch: failed.append(len(batch)),
    )
    while time.time() < start_at:
        time.sleep(0.001)
    started = time.time()
    for n in range(offset, offset + share):
        client.track(
            user_id=f"cus_{n % 5000}",
            event="Product Viewed",
            properties={"product_area": "catalog", "path": f"/products/{n % 997}", "latency_ms": 180 + n % 400},
            context={
                "campaign": {"source": "newsletter", "medium": "email", "name": "cmp_spring"},
                "userAgent": "Mozilla/5.0 (X11; Linux x86_64) loop-bench",
                "app": {"version": "2.3.0"},
            },
            timestamp=datetime.now(UTC),
            message_id=f"bench-{n}",
        )
    client.flush()
    finished = time.time()
    client.join()
    out.put((started, finished, share, sum(failed)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=200_000, help="events to send in all (default 200,000)")
    parser.add_argument("--processes", type=int, default=3, help="client processes (default 3)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="loop-bench-collector-") as scratch:
        data = Path(scratch) / "data"
        env = {**os.environ, "LOOP_DATA_DIR": str(data), "LOOP_WRITE_KEYS": WRITE_KEY}
        loop = Path(sys.executable).with_name("loop")
        server = subprocess.Popen(
            [str(loop), "collect", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=sys.stderr, text=True
        )
        assert server.stdout is not None
        line = server.stdout.readline()
        match = re.search(r"http://[0-9.]+:[0-9]+", line)
        if not match:
            server.kill()
            raise SystemExit(f"the collector did not start: {line!r}")
        url = match.group()

        try:
            share, rest = divmod(args.events, args.processes)
            out: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
            start_at = time.time() + 1.0  # every client imports and connects first
            workers = [
                multiprocessing.Process(target=_client, args=(url, share + (i < rest), i * (share + 1), start_at, out))
                for i in range(args.processes)
            ]
            for worker in workers:
                worker.start()
            results = [out.get() for _ in workers]
            for worker in workers:
                worker.join()

            server.send_signal(signal.SIGTERM)
            tail, _ = server.communicate(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
        sent = sum(r[2] for r in results)
        failed = sum(r[3] for r in results)
        acknowledged = sent - failed
        seconds = max(r[1] for r in results) - min(r[0] for r in results)

        folder = data / "landing" / "experience" / "events"
        ids: list[str] = []
        files = sorted(folder.glob("date=*/*.ndjson"))
        for path in files:
            with path.open() as handle:
                ids += [json.loads(text)["messageId"] for text in handle]

        print(f"\n`loop collect` fed by segment-analytics-python ({args.processes} client processes, default batching)")
        print(f"  events sent:         {sent:12,}")
        print(f"  acknowledged (200):  {acknowledged:12,}   failed: {failed:,}")
        print(f"  landed in files:     {len(ids):12,}   in {len(files)} part file(s); distinct ids: {len(set(ids)):,}")
        print(f"  collector exit code: {server.returncode}; {tail.strip().splitlines()[-1] if tail.strip() else ''}")
        print(f"  elapsed:             {seconds:12.2f} s")
        print(f"acknowledged durable events/s: {acknowledged / seconds:,.0f}")


if __name__ == "__main__":
    main()
