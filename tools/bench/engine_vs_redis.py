#!/usr/bin/python3
"""Engine data structures in-process next to the same operations inside Redis.

Runs the engine's Google Benchmark binaries (ns per operation, bytes per element) and, against a
private redis-server, loads the same data (redis-cli --pipe), measures memory with INFO memory and
the server-side time per command with INFO commandstats (usec_per_call) while redis-benchmark
drives the commands. Server-side time excludes the network, which makes it the fair yardstick for
in-process numbers; it still includes Redis's command parsing and reply writing.

Used by run_suite.py (`make bench`); prints a markdown section on stdout when run alone:
    /usr/bin/python3 tools/bench/engine_vs_redis.py --build build/release
"""
import argparse
import json
import os
import socket
import subprocess
import time

MEMBERS = 1_000_000
SESSIONS = 100_000
ENTRIES = 1_000_000


def resp(*args):
    out = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class Redis:
    def __init__(self, core=None, extra_args=()):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", *extra_args]
        if core is not None:
            command = ["taskset", "-c", str(core)] + command
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.cli("PING").strip() == "PONG":
                return
            time.sleep(0.05)  # a server start-up poll, not test synchronisation
        raise RuntimeError("redis-server did not start")

    def cli(self, *args):
        run = subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True,
                             text=True)
        return run.stdout

    def pipe(self, payload):
        run = subprocess.run(["redis-cli", "-p", str(self.port), "--pipe"], input=payload,
                             capture_output=True)
        if run.returncode != 0:
            raise RuntimeError(run.stdout.decode() + run.stderr.decode())

    def info(self, section):
        values = {}
        for line in self.cli("INFO", section).splitlines():
            key, _, value = line.partition(":")
            values[key] = value
        return values

    def used_memory(self):
        return int(self.info("memory")["used_memory"])

    def usec_per_call(self, command):
        stats = self.info("commandstats").get("cmdstat_" + command.lower(), "")
        for part in stats.split(","):
            key, _, value = part.partition("=")
            if key == "usec_per_call":
                return float(value)
        return None

    def bench(self, *command, requests=200_000, keyspace=None):
        args = ["redis-benchmark", "-p", str(self.port), "-n", str(requests), "-c", "50", "-P",
                "16", "-q"]
        if keyspace:
            args += ["-r", str(keyspace)]
        subprocess.run(args + list(command), capture_output=True, check=True)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def engine(build, binary, filters):
    """{benchmark name: {ns, bytes counters...}} from one Google Benchmark binary."""
    run = subprocess.run([os.path.join(build, "engine", binary), "--benchmark_format=json",
                          "--benchmark_min_time=0.2", "--benchmark_filter=" + filters],
                         capture_output=True, text=True, check=True)
    results = {}
    for b in json.loads(run.stdout)["benchmarks"]:
        entry = {"ns": 1e9 / b["items_per_second"] if b.get("items_per_second") else None}
        entry.update({k: v for k, v in b.items() if k.startswith("bytes_per")})
        results[b["name"]] = entry
    return results


def redis_numbers(core):
    redis = Redis(core)
    try:
        numbers = {}
        # Sorted set: memory on "player:N" members, speed on 12-digit names that
        # redis-benchmark's __rand_int__ can address.
        before = redis.used_memory()
        redis.pipe(b"".join(resp("ZADD", "board", i * 7919 % 1_000_000, "player:%d" % i)
                            for i in range(MEMBERS)))
        numbers["zset_bytes"] = (redis.used_memory() - before) / MEMBERS
        redis.pipe(b"".join(resp("ZADD", "speed", i * 7919 % 1_000_000, "player:%012d" % i)
                            for i in range(MEMBERS)))
        redis.cli("CONFIG", "RESETSTAT")
        redis.bench("ZADD", "speed", "__rand_int__", "player:__rand_int__", keyspace=MEMBERS)
        redis.bench("ZREVRANK", "speed", "player:__rand_int__", keyspace=MEMBERS)
        redis.bench("ZREVRANGE", "speed", "0", "9")
        numbers["zadd_us"] = redis.usec_per_call("zadd")
        numbers["zrevrank_us"] = redis.usec_per_call("zrevrank")
        numbers["zrevrange_us"] = redis.usec_per_call("zrevrange")
        redis.cli("FLUSHALL")

        # Session: a 4-field hash with a TTL per key.
        before = redis.used_memory()
        redis.pipe(b"".join(
            resp("HSET", "session:%d" % i, "user_id", "u-%d" % i, "created", "1732540000", "ip",
                 "203.0.113.7", "agent", "Mozilla/5.0 (X11; Linux x86_64)") +
            resp("EXPIRE", "session:%d" % i, 3600) for i in range(SESSIONS)))
        numbers["session_bytes"] = (redis.used_memory() - before) / SESSIONS
        redis.cli("CONFIG", "RESETSTAT")
        redis.bench("HSET", "session:1", "ip", "10.0.0.1")
        redis.bench("HGET", "session:1", "agent")
        numbers["hset_us"] = redis.usec_per_call("hset")
        numbers["hget_us"] = redis.usec_per_call("hget")
        redis.cli("FLUSHALL")

        # Stream: one 16-byte field per entry.
        before = redis.used_memory()
        payload = "x" * 16
        redis.pipe(b"".join(resp("XADD", "events", "*", "payload", payload)
                            for _ in range(ENTRIES)))
        numbers["stream_bytes"] = (redis.used_memory() - before) / ENTRIES
        redis.cli("CONFIG", "RESETSTAT")
        redis.bench("XADD", "bench", "*", "payload", payload)
        redis.bench("XRANGE", "events", "-", "+", "COUNT", "10")
        numbers["xadd_us"] = redis.usec_per_call("xadd")
        numbers["xrange_us"] = redis.usec_per_call("xrange")
        numbers["version"] = redis.info("server").get("redis_version", "unknown")
        return numbers
    finally:
        redis.stop()


def section(build, core=None):
    zset = engine(build, "sorted_set_benchmark", "/1000000|Memory")
    hashes = engine(build, "hash_benchmark", ".")
    stream = engine(build, "stream_benchmark", ".")
    r = redis_numbers(core)

    def ratio(ours_ns, redis_us):
        return "%.2fx" % (ours_ns / (redis_us * 1000)) if ours_ns and redis_us else "-"

    rows = [
        ("sorted set: update a member's score (1M)", zset["BM_UpdateScore/1000000"]["ns"],
         "ZADD", r["zadd_us"]),
        ("sorted set: rank of a member (1M)", zset["BM_Rank/1000000"]["ns"], "ZREVRANK",
         r["zrevrank_us"]),
        ("sorted set: top 10 (1M)", zset["BM_Top10/1000000"]["ns"], "ZREVRANGE 0 9",
         r["zrevrange_us"]),
        ("sorted set: rank + 5 above and below (1M)", zset["BM_AroundMember/1000000"]["ns"],
         "ZREVRANK + ZREVRANGE", (r["zrevrank_us"] or 0) + (r["zrevrange_us"] or 0)),
        ("hash: set a field (session)", hashes["BM_SessionHashSet"]["ns"], "HSET", r["hset_us"]),
        ("hash: get a field (session)", hashes["BM_SessionHashGet"]["ns"], "HGET", r["hget_us"]),
        ("stream: append", stream["BM_Append"]["ns"], "XADD", r["xadd_us"]),
        ("stream: read 10 entries", stream["BM_ReadAfter10"]["ns"] * 10, "XRANGE COUNT 10",
         r["xrange_us"]),
    ]
    zset_bytes = zset["BM_MemoryPerMember/iterations:1"]["bytes_per_member"]
    session_bytes = hashes["BM_KeyspaceBytesPerSession/iterations:1"]["bytes_per_session"]
    stream_bytes = stream["BM_Append"]["bytes_per_entry"]
    lines = [
        "## Engine data structures vs Redis %s" % r["version"],
        "",
        "hotpath: the engine in-process (Google Benchmark, `build/release/engine/*_benchmark`).",
        "Redis: server-side time per command from `INFO commandstats` while redis-benchmark",
        "drives it (no network in either number; Redis's includes parsing and reply writing).",
        "",
        "Below 1x, hotpath takes less time (or memory) than Redis.",
        "",
        "| operation | hotpath ns | Redis command | Redis ns | hotpath/Redis |",
        "|---|---:|---|---:|---:|",
    ]
    for name, ours, command, theirs in rows:
        lines.append("| %s | %.0f | %s | %s | %s |" % (
            name, ours, command, "%.0f" % (theirs * 1000) if theirs else "-", ratio(ours, theirs)))
    lines += [
        "",
        "| memory | hotpath bytes | Redis bytes | hotpath/Redis |",
        "|---|---:|---:|---:|",
        "| sorted set member (1M members `player:N`, integer scores) | %.1f | %.1f | %.2fx |" % (
            zset_bytes, r["zset_bytes"], zset_bytes / r["zset_bytes"]),
        "| session key (4-field hash with a TTL, 100k keys) | %.0f | %.0f | %.2fx |" % (
            session_bytes, r["session_bytes"], session_bytes / r["session_bytes"]),
        "| stream entry (one 16-byte field, 1M entries) | %.0f | %.0f | %.2fx |" % (
            stream_bytes, r["stream_bytes"], stream_bytes / r["stream_bytes"]),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build/release")
    args = parser.parse_args()
    print(section(args.build))
