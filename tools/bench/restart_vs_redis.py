#!/usr/bin/python3
"""Restart time: hotpath recovering its data directory next to Redis loading an RDB.

The same data on both sides: a 1M-member sorted set ("player:N", integer scores) and 200K
sessions (4-field hashes with a one-hour TTL). hotpath's side is store_benchmark
(BM_RestartFromBase: open the directory, load the base, replay the log, as hotpathd's start
does); Redis's is the "DB loaded from disk" time it logs when it starts on a dump.rdb of the
same data.

Used by run_suite.py (`make bench`); prints a markdown section on stdout when run alone:
    /usr/bin/python3 tools/bench/restart_vs_redis.py --build build/release
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

from engine_vs_redis import Redis, resp  # beside this file

MEMBERS = 1_000_000
SESSIONS = 200_000


def hotpath_numbers(build, core):
    command = [os.path.join(build, "persistence", "store_benchmark"), "--benchmark_format=json"]
    if core is not None:
        command = ["taskset", "-c", str(core)] + command
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    results = {b["name"].split("/")[0]: b for b in json.loads(run.stdout)["benchmarks"]}
    restart = results["BM_RestartFromBase"]
    return {"restart_s": restart["real_time"] / 1000, "base_bytes": restart["base_bytes"],
            "rewrite_s": results["BM_Rewrite"]["real_time"] / 1000}


def redis_load_seconds(directory, core):
    """Starts redis-server on `directory`'s dump.rdb and returns the load time it logs."""
    log = os.path.join(directory, "redis.log")
    redis = Redis(core, ["--dir", directory, "--dbfilename", "dump.rdb", "--logfile", log])
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with open(log) as f:
                match = re.search(r"DB loaded from disk: ([0-9.]+) seconds", f.read())
            if match:
                return float(match.group(1))
            time.sleep(0.05)  # polling a log file for a server's start, not test synchronisation
        raise RuntimeError("redis-server did not report loading its RDB")
    finally:
        redis.stop()


def redis_numbers(core):
    directory = tempfile.mkdtemp(prefix="hotpath_redis_rdb_")
    try:
        redis = Redis(core, ["--dir", directory, "--dbfilename", "dump.rdb"])
        try:
            redis.pipe(b"".join(resp("ZADD", "board", i * 7919 % 1_000_000, "player:%d" % i)
                                for i in range(MEMBERS)))
            redis.pipe(b"".join(
                resp("HSET", "session:%d" % i, "user_id", "u-%d" % i, "created", "1732540000",
                     "ip", "203.0.113.7", "agent", "Mozilla/5.0 (X11; Linux x86_64)") +
                resp("EXPIRE", "session:%d" % i, 3600) for i in range(SESSIONS)))
            redis.cli("SAVE")
            version = redis.info("server").get("redis_version", "unknown")
        finally:
            redis.stop()
        rdb_bytes = os.path.getsize(os.path.join(directory, "dump.rdb"))
        return {"load_s": redis_load_seconds(directory, core), "rdb_bytes": rdb_bytes,
                "version": version}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def section(build, core=None):
    ours = hotpath_numbers(build, core)
    theirs = redis_numbers(core)
    return "\n".join([
        "## Restart vs Redis %s" % theirs["version"],
        "",
        "A 1M-member sorted set and 200K sessions (4-field hashes with a TTL). hotpath: open the",
        "data directory and recover it (`build/release/persistence/store_benchmark`,",
        "BM_RestartFromBase; the base's shard sections load on two threads). Redis: the",
        "\"DB loaded from disk\" time it logs starting on a `SAVE`d dump.rdb of the same data.",
        "",
        "| | hotpath | Redis | hotpath/Redis |",
        "|---|---:|---:|---:|",
        "| load at start (s) | %.3f | %.3f | %.2fx |" % (
            ours["restart_s"], theirs["load_s"], ours["restart_s"] / theirs["load_s"]),
        "| snapshot file (MB) | %.1f | %.1f | %.2fx |" % (
            ours["base_bytes"] / 1e6, theirs["rdb_bytes"] / 1e6,
            ours["base_bytes"] / theirs["rdb_bytes"]),
        "",
        "hotpath writes that base (a rewrite: new segment, snapshot of every shard, manifest swap)",
        "in %.3f s, without fork." % ours["rewrite_s"],
        "",
    ])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build/release")
    args = parser.parse_args()
    print(section(args.build))
