#!/usr/bin/python3
"""Interleaved runs of one hotpath-bench workload against hotpathd under different settings.

Each setting is a comma-separated list of HOTPATH_* variables (docs/configuration.md), given to
a freshly started hotpathd with a fresh data directory; the runs alternate between settings so
that a slow spell of a shared machine hits all of them. hotpathd runs on the first core and the
load on the second, as in `make bench`. Example, the scheduling policy under fsync `always`:

  /usr/bin/python3 tools/bench/compare_config.py --fsync=always \\
      --workload=leaderboard-submit --concurrency=50 \\
      HOTPATH_SERVER_SCHEDULING=normal HOTPATH_SERVER_SCHEDULING=batch -- --keys=1000000
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import run_suite


def run_once(args, setting, extra):
    directory = tempfile.mkdtemp(prefix="hotpath-compare-")
    saved = dict(os.environ)
    os.environ.update(setting)
    try:
        server, target, _ = run_suite.start_hotpathd(args.hotpathd, 0, directory, args.fsync)
    finally:
        os.environ.clear()
        os.environ.update(saved)
    try:
        command = run_suite.pinned([
            args.bench, "--target=" + target, "--workload=" + args.workload,
            "--concurrency=%d" % args.concurrency,
            "--connections=%d" % run_suite.CONNECTIONS, "--duration=" + args.duration,
            "--warmup=" + args.warmup, "--json", *extra], 1)
        run = subprocess.run(command, capture_output=True, text=True, timeout=900)
        if run.returncode != 0:
            sys.exit("hotpath-bench failed: %s %s" % (" ".join(command), run.stderr))
        return json.loads(run.stdout)["results"][0]["ops_per_second"]
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def main():
    argv = sys.argv[1:]
    extra = argv[argv.index("--") + 1:] if "--" in argv else []
    argv = argv[:argv.index("--")] if "--" in argv else argv
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hotpathd", default="build/release/services/server/hotpathd")
    parser.add_argument("--bench", default="build/release/tools/bench/hotpath-bench")
    parser.add_argument("--fsync", default="everysec", choices=["always", "everysec", "no"])
    parser.add_argument("--workload", required=True)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--duration", default="5s")
    parser.add_argument("--warmup", default="1s")
    parser.add_argument("--runs", type=int, default=3, help="runs of each setting")
    parser.add_argument("settings", nargs="+",
                        help="NAME=VALUE[,NAME=VALUE...] of HOTPATH_* variables, or - for none")
    args = parser.parse_args(argv)
    settings = []
    for text in args.settings:
        pairs = [] if text == "-" else [kv.split("=", 1) for kv in text.split(",")]
        if any(len(p) != 2 or not p[0].startswith("HOTPATH_") for p in pairs):
            sys.exit("a setting is HOTPATH_NAME=VALUE[,...] or -, got %r" % text)
        settings.append(dict(pairs))
    results = [[] for _ in settings]
    for _ in range(args.runs):
        for i, setting in enumerate(settings):
            results[i].append(run_once(args, setting, extra))
    for text, ops in zip(args.settings, results):
        print("%-48s %s  mean %.0f ops/s" % (
            text, " ".join("%.0f" % x for x in ops), sum(ops) / len(ops)))


if __name__ == "__main__":
    main()
