"""The load generator's smoke run: every process starts, every workload runs, nothing is lost.

`python -m benchmarks.load --smoke --json` starts Azurite, the rate-limited local Bot Connector
with its token authority, the bot in production mode and the floor bot, each as a process, on
127.0.0.1 only; it prints its figures as JSON on its last line.
"""

from __future__ import annotations

import json
import subprocess
import sys

from testing.env import ROOT

TIMEOUT_SECONDS = 240


def test_smoke_run_loses_and_double_counts_nothing(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.load", "--smoke", "--json", "--workdir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
    )
    output = done.stdout.strip().splitlines()
    assert output, f"no output; stderr:\n{done.stderr[-3000:]}"
    figures = json.loads(output[-1])
    assert figures["aborted"] == [], figures["aborted"]
    assert figures["lost"] == 0, figures
    assert figures["double"] == 0, figures
    assert done.returncode == 0, done.stderr[-3000:]
    ours = [w for w in figures["workloads"] if w["bot"] == "ours"]
    floor = [w for w in figures["workloads"] if w["bot"] == "floor"]
    assert ours and floor
    # Every click was answered, by both bots, with the card that says it was done.
    assert all(w["actions"] == 34 and w["failed"] == 0 for w in ours + floor), figures
    broadcast = figures["broadcast"]
    assert broadcast["expected"] == 20 and broadcast["delivered"] == 20, broadcast
    # Card updates and replies went out under tokens from the local authority, never without
    # one, and one token served a whole workload (not one per message).
    assert all(w["card_updates"] > 0 and w["unauthorized"] == 0 for w in ours), ours
    assert all(w["token_requests"] <= w["processes"] for w in ours), ours
    assert broadcast["unauthorized"] == 0, broadcast
    # Coalesced and paced: 5 people clicking at once never meet the per-chat limit, and the
    # shared sign-in card everyone sees last shows the stored count.
    assert all(w["throttled_chat"] == 0 for w in ours), ours
    assert all(w["stale_cards"] == 0 for w in ours), ours
    # Two processes on one storage keep the app-wide pace together: no per-app or per-chat
    # 429, and (above) every click stored once, the counts exact.
    scale = [w for w in ours if w["processes"] == 2]
    assert scale, figures["workloads"]
    assert all(w["throttled_app"] == 0 and w["throttled"] == 0 for w in scale), scale
