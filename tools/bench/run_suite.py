#!/usr/bin/python3
"""The standard benchmark suite behind `make bench`.

Measures gRPC's own cost per call first (Ping against grpc-floor, an empty gRPC server). Then
starts hotpathd and a redis-server (no persistence) side by side on loopback, pinned to one
core while the load generator gets the other, runs every suite entry through hotpath-bench with
--vs_redis, compares the engine's data structures and the restart time with Redis
(engine_vs_redis.py, restart_vs_redis.py), and writes docs/benchmarks.md (tables with
hotpath/Redis ratios, the machine, how to rerun) and docs/benchmarks.png (throughput and p99
per entry).

    /usr/bin/python3 tools/bench/run_suite.py --build build/release \
        --hotpathd build/release/services/server/hotpathd \
        --bench build/release/tools/bench/hotpath-bench
"""
import argparse
import datetime
import json
import os
import platform
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.join(HERE, "..", "common")]
import engine_vs_redis  # noqa: E402  (beside this file)
import restart_vs_redis  # noqa: E402
from hotpathd import Hotpathd  # noqa: E402  (tools/common)

# (workload, extra flags, fresh). Each runs at every concurrency below; later issues add
# their entries. `fresh` entries get newly started servers, so the memory they report per item
# holds their items only.
SUITE = [
    ("ping", [], False),
    ("ratelimit", [], False),
    ("ratelimit", ["--batch=100"], False),
    ("ratelimit-envoy", [], False),
    ("session-create", [], False),
    ("session-get", ["--keys=100000"], True),
    ("leaderboard-submit", ["--keys=1000000"], True),
    ("leaderboard-top", ["--keys=1000000"], True),
    ("leaderboard-rank", ["--keys=1000000"], True),
    ("pubsub-publish", ["--payload=100"], False),
]
# Pub/sub delivery, hotpath alone: (what the row shows, workload, flags). One 100-byte
# message per operation, timed from its publish until every subscriber has it
# (pubsub-delivery), or until one consumer of a group has it and acknowledges it
# (pubsub-consume, where --subscribers counts the group's consumers).
DELIVERY = [
    ("1 subscriber, 10,000 msg/s offered", "pubsub-delivery",
     ["--subscribers=1", "--rate=10000"]),
    ("1 subscriber, closed loop", "pubsub-delivery", ["--subscribers=1"]),
    ("100 subscribers, closed loop", "pubsub-delivery", ["--subscribers=100"]),
    ("group, 1 consumer, 10,000 msg/s offered", "pubsub-consume",
     ["--subscribers=1", "--rate=10000"]),
    ("group, 4 consumers, closed loop", "pubsub-consume", ["--subscribers=4"]),
]
# Open-loop latency at half of the peak the suite measured at the highest concurrency: the
# workloads whose targets speak of p99 under load, and ping as gRPC's own floor.
HALF_LOAD = ["ping", "ratelimit"]
# Acknowledged writes with every one on disk first: hotpathd with persistence.fsync=always
# against Redis with appendfsync always, same workload and concurrency. SubmitScore against
# ZADD is the comparison the persistence issue names.
DURABLE_SUITE = [
    ("leaderboard-submit", ["--keys=1000000"]),
    ("session-create", []),
]
CONCURRENCY = [50, 256]  # calls in flight; 256 is where the targets hold
CONNECTIONS = 8


def cores():
    return sorted(os.sched_getaffinity(0))


def pinned(command, core):
    """Prefixes `command` with taskset when the machine has a core to spare for it."""
    if core is None or not shutil.which("taskset"):
        return command
    return ["taskset", "-c", str(core), *command]


def wait_for_output(process, marker, seconds):
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    output = b""
    deadline = time.monotonic() + seconds
    while marker not in output and time.monotonic() < deadline:
        if not selector.select(timeout=deadline - time.monotonic()):
            break
        chunk = os.read(process.stdout.fileno(), 4096)
        if not chunk:
            break
        output += chunk
    if marker not in output:
        process.kill()
        raise RuntimeError("%s did not start: %s" % (process.args, output.decode()))
    return output.decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# The Envoy rate limit configuration the ratelimit-envoy workload checks against.
ENVOY_CONFIG = os.path.join(HERE, "ratelimit_envoy.yaml")


def start_hotpathd(binary, core, data_dir, fsync="everysec"):
    """hotpathd pinned to `core`, serving (tools/common/hotpathd.py) with the bench's Envoy
    configuration; stop() ends it. Returns it, its gRPC address, and its metrics HOST:PORT."""
    server = Hotpathd(binary, ["--persistence.fsync=" + fsync,
                               "--ratelimit.envoy_config=" + ENVOY_CONFIG],
                      data_dir=data_dir, prefix=pinned([], core)).__enter__()
    metrics = server.metrics_url.removeprefix("http://").removesuffix("/metrics")
    return server, server.grpc_address, metrics


def start_floor(binary, core, log=None):
    """grpc-floor (an empty gRPC server answering Ping) pinned to `core`; returns it and its
    address. With `log` (a file path) it is the durable floor: each Ping appends a record there
    and is answered once it is fdatasync'ed."""
    flags = ["--log=" + log, "--fsync=always"] if log else []
    process = subprocess.Popen(pinned([binary, "--address=127.0.0.1:0", *flags], core),
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    output = wait_for_output(process, b"\n", 30)
    return process, output.split()[1]


def start_redis(core, aof_dir=None):
    """Redis without persistence, or with an append-only file fsynced on every write."""
    port = free_port()
    persistence = (["--appendonly", "yes", "--appendfsync", "always", "--dir", aof_dir]
                   if aof_dir else ["--appendonly", "no"])
    process = subprocess.Popen(
        pinned(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                *persistence], core),
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    wait_for_output(process, b"Ready to accept connections", 30)
    return process, "127.0.0.1:%d" % port


def machine():
    model = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    redis = subprocess.run(["redis-server", "--version"], capture_output=True, text=True).stdout
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    return {
        "cpu": model, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(),
        "redis": redis.split()[2].removeprefix("v=") if redis else "unknown",
        "commit": commit or "unknown",
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }


def table(rows, floor, floor_name="gRPC floor"):
    """Markdown rows; `floor` maps calls in flight to grpc-floor's Ping ops/s."""
    lines = [
        "| workload | in flight | hotpath ops/s | Redis ops/s | throughput ratio | hotpath / %s | hotpath p50 / p99 us | Redis p50 / p99 us | p99 ratio | bytes/item hotpath / Redis |" % floor_name,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        h, r = row["hotpath"], row["redis"]
        memory = "-"  # only workloads that store items report memory per item
        if row["items"] and h["server_memory_bytes"] is not None and r["server_memory_bytes"] is not None:
            memory = "%.0f / %.0f" % (h["server_memory_bytes"] / row["items"],
                                      r["server_memory_bytes"] / row["items"])
        lines.append("| %s | %d | %.0f | %.0f | %.2fx | %.2fx | %.0f / %.0f | %.0f / %.0f | %.2fx | %s |" % (
            row["name"], row["concurrency"], h["ops_per_second"], r["ops_per_second"],
            h["ops_per_second"] / r["ops_per_second"],
            h["ops_per_second"] / floor[row["concurrency"]], h["p50_us"], h["p99_us"],
            r["p50_us"], r["p99_us"], h["p99_us"] / r["p99_us"], memory))
    return lines


def floor_runs(floor):
    """"best of N runs: A and B calls/s at 50 and 256", for a floor from run_floor."""
    return "best of %d runs: %s calls/s at %s" % (
        FLOOR_RUNS, " and ".join("%.0f" % floor[c] for c in CONCURRENCY),
        " and ".join("%d" % c for c in CONCURRENCY))


def write_markdown(path, rows, half_rows, durable_rows, delivery_rows, floor, durable_floor,
                   info, args, pinning, engine_section):
    lines = [
        "# Benchmarks",
        "",
        "Written by `make bench` (tools/bench/run_suite.py); rerun it to refresh this page and",
        "`benchmarks.png`. Each entry runs closed-loop for %s after a %s warm-up, first against"
        % (args.duration, args.warmup),
        "hotpathd, then the same operation against Redis (no persistence), at %d and %d calls"
        % tuple(CONCURRENCY),
        "in flight. hotpath multiplexes them over %d gRPC connections; Redis gets one connection"
        % CONNECTIONS,
        "per call in flight, as it has no multiplexing. %s" % pinning,
        "",
    ]
    lines += table(rows, floor)
    ping = {row["concurrency"]: row["redis"]["ops_per_second"] for row in rows
            if row["name"] == "ping"}
    lines += [
        "",
        "Ratios are hotpath/Redis: above 1x is better for throughput, below 1x is better for p99.",
        "`hotpath / gRPC floor` divides by what an empty gRPC server (`grpc-floor`,",
        "tools/bench/grpc_floor.cc: gRPC's callback API answering Ping, with none of hotpath;",
        "its threads under SCHED_BATCH, as hotpathd's by default) served to the same client on",
        "the same core, %s" % floor_runs(floor),
        "calls in flight, %s Redis PING. A unary gRPC call beats it only by this"
        % " and ".join("%.2fx" % (floor[c] / ping[c]) for c in CONCURRENCY),
        "machine's noise, so a workload near 1.00x of the floor spends its time in gRPC and the",
        "kernel, not in hotpath.",
        "`ratelimit`: a token-bucket check, RateLimiterService/Check against EVALSHA of the usual Lua",
        "script; with `--batch=100` one operation is 100 checks (one CheckBatch call, or 100",
        "pipelined EVALSHA), so checks/s are 100x the ops/s shown. `ratelimit-envoy`: the same",
        "check as Envoy's rate limit filter makes it, RateLimitService/ShouldRateLimit with one",
        "descriptor, against the same EVALSHA (hotpathd serves tools/bench/ratelimit_envoy.yaml).",
        "`session-create`: SessionService/Create (answered once its records are written, under",
        "hotpathd's default `everysec`) against HSET + EXPIRE + SADD pipelined (Redis without",
        "persistence). `session-get`: a touching Get against HGETALL + EXPIRE over 100,000",
        "sessions made first, on freshly started servers, so bytes/item is memory per session",
        "(hotpath: the engine's own count; Redis: `used_memory`).",
        "`leaderboard-*`: a board of 1,000,000 members (`player:N`, integer scores) loaded first",
        "on freshly started servers; SubmitScore (operator set, answered once written) against",
        "ZADD, GetTop(10) against ZREVRANGE 0 9 WITHSCORES, GetRank (rank, score and size)",
        "against ZREVRANK. bytes/item is memory per member.",
        "After a load, hotpath-bench compacts each server's log before the warm-up (hotpathd:",
        "AdminService/Rewrite; a Redis with an append-only file: BGREWRITEAOF), as an operator",
        "would after a bulk import: otherwise the 1,000,000-member load crosses hotpathd's",
        "`persistence.rewrite_min_bytes` and its automatic rewrite runs inside the measured window.",
        "`pubsub-publish`: Publish of a 100-byte message (answered once written) against XADD.",
        "",
        "## Latency at half of the peak",
        "",
        "hotpath alone, open loop: calls arrive at half of the throughput measured above at %d"
        % CONCURRENCY[-1],
        "in flight (up to %d in flight), and each is timed from its arrival, so queueing counts."
        % CONCURRENCY[-1],
        "`ping` is the empty call. The open-loop client polls its completion queue between",
        "arrivals instead of sleeping, so each call starts on time and its answer is seen at",
        "once; a sleeping client paid a wakeup per call and ran out of its core near 40K calls/s.",
        "",
        "| workload | peak ops/s | offered ops/s | p50 us | p99 us | p99.9 us |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in half_rows:
        lines.append("| %s | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            row["name"], row["peak"], row["rate"], row["p50_us"], row["p99_us"], row["p999_us"]))
    lines += [
        "",
        "## Acknowledged writes with every one on disk",
        "",
        "hotpathd with `persistence.fsync=always` (a write is answered once its records are",
        "fdatasync'ed, group commit) against Redis with `appendonly yes` and `appendfsync always`,",
        "both writing to the same disk, one fresh pair of servers per row: SubmitScore against",
        "ZADD on a board of 1,000,000 members, and Create against HSET + EXPIRE + SADD.",
        "`hotpath / durable floor` divides by `grpc-floor --log`: the empty gRPC server, each",
        "Ping appending one small record through hotpath's log writer and answered once it is",
        "fdatasync'ed, %s calls in flight. It is what gRPC and" % floor_runs(durable_floor),
        "group commit cost on this core and disk, with nothing of hotpath's services or engine.",
        "",
    ]
    lines += table(durable_rows, durable_floor, "durable floor")
    lines += [
        "",
        "## Pub/sub delivery",
        "",
        "hotpath alone: one operation publishes a 100-byte message and is timed until every",
        "subscriber's Subscribe stream has it; the publish's own answer is not timed, though the",
        "next publish waits for it (50 in flight; the open-loop rows offer a fixed rate).",
        "Deliveries/s is messages/s times subscribers: the fan-out row shows what 100",
        "subscribers cost against one. The group rows time an operation until one consumer of a",
        "consumer group has the message (and acknowledges it as the response arrives).",
        "",
        "| run | msg/s | deliveries/s | p50 us | p99 us | p99.9 us |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for row in delivery_rows:
        lines.append("| %s | %.0f | %.0f | %.0f | %.0f | %.0f |" % (
            row["name"], row["ops_per_second"], row["ops_per_second"] * row["subscribers"],
            row["p50_us"], row["p99_us"], row["p999_us"]))
    lines += [
        "",
        "![throughput and p99 per workload](benchmarks.png)",
        "",
        engine_section,
        "## Machine",
        "",
        "%(cpu)s, %(cores)d cores, %(memory_gib)s GiB, Linux %(kernel)s, Redis %(redis)s, "
        "hotpath commit %(commit)s, %(date)s." % info,
        "",
        "## Rerun",
        "",
        "```sh",
        "make bench                      # the whole suite, rewrites this page and the chart",
        "/usr/bin/python3 tools/bench/engine_vs_redis.py   # only the engine section",
        "build/release/tools/bench/hotpath-bench --list",
        "build/release/tools/bench/hotpath-bench --target=127.0.0.1:7070 --workload=ping \\",
        "    --concurrency=256 --connections=8 --duration=10s --vs_redis   # one entry, by hand",
        "```",
        "",
        "Numbers on a shared 2-core virtual machine move by 10-20% from run to run; compare",
        "ratios from one run rather than absolute numbers across runs.",
        "",
    ]
    with open(path, "w") as f:
        f.write("\n".join(lines))


def write_chart(path, rows):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["%s@%d" % (row["name"], row["concurrency"]) for row in rows]
    x = range(len(rows))
    width = 0.38
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 1.6 * len(rows)), 7))
    for axis, key, title in ((top, "ops_per_second", "throughput (ops/s, higher is better)"),
                             (bottom, "p99_us", "p99 latency (us, lower is better)")):
        axis.bar([i - width / 2 for i in x], [row["hotpath"][key] for row in rows], width,
                 label="hotpath")
        axis.bar([i + width / 2 for i in x], [row["redis"][key] for row in rows], width,
                 label="Redis")
        axis.set_xticks(list(x))
        axis.set_xticklabels(labels)
        axis.set_title(title)
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)


class Servers:
    """hotpathd and Redis side by side on the server core, each with its own data directory."""

    def __init__(self, args, core, fsync="everysec", redis_aof=False):
        self.directory = tempfile.mkdtemp(prefix="hotpath_bench_")
        self.hotpathd = None
        self.processes = []
        try:
            self.hotpathd, self.target, self.metrics = start_hotpathd(
                args.hotpathd, core, os.path.join(self.directory, "hotpath"), fsync)
            aof_dir = None
            if redis_aof:
                aof_dir = os.path.join(self.directory, "redis")
                os.makedirs(aof_dir)
            redis, self.redis_address = start_redis(core, aof_dir)
            self.processes.append(redis)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        if self.hotpathd is not None:
            self.hotpathd.stop()
            self.hotpathd = None
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []
        shutil.rmtree(self.directory, ignore_errors=True)


def run_entry(args, servers, client_core, workload, flags, concurrency):
    command = pinned([
        args.bench, "--target=" + servers.target, "--metrics=" + servers.metrics,
        "--workload=" + workload, "--concurrency=%d" % concurrency,
        "--connections=%d" % CONNECTIONS, "--duration=" + args.duration,
        "--warmup=" + args.warmup, "--vs_redis", "--redis_address=" + servers.redis_address,
        "--json", *flags], client_core)
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        sys.exit("hotpath-bench failed: %s %s" % (" ".join(command), run.stderr))
    report = json.loads(run.stdout)
    results = {r["target"]: r for r in report["results"]}
    h, r = results["hotpath"], results["redis"]
    print("%-14s %4d in flight: hotpath %9.0f ops/s p99 %7.0f us | Redis %9.0f ops/s "
          "p99 %7.0f us | %.2fx" % (workload, concurrency, h["ops_per_second"], h["p99_us"],
                                    r["ops_per_second"], r["p99_us"],
                                    h["ops_per_second"] / r["ops_per_second"]))
    return {"name": workload + (" " + " ".join(flags) if flags else ""),
            "concurrency": concurrency, "items": report["items"], **results}


def run_delivery(args, servers, client_core, label, workload, flags):
    """pubsub-delivery or pubsub-consume on hotpath alone: publish-to-arrival time."""
    command = pinned([
        args.bench, "--target=" + servers.target, "--workload=" + workload,
        "--concurrency=50", "--connections=%d" % CONNECTIONS, "--payload=100",
        "--duration=" + args.duration, "--warmup=" + args.warmup, "--json", *flags], client_core)
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        sys.exit("hotpath-bench failed: %s %s" % (" ".join(command), run.stderr))
    result = json.loads(run.stdout)["results"][0]
    subscribers = int(next(f for f in flags if f.startswith("--subscribers=")).split("=")[1])
    if workload == "pubsub-consume":
        subscribers = 1  # each message goes to one consumer of the group
    print("%-36s %8.0f msg/s p50 %6.0f us p99 %7.0f us" % (
        label, result["ops_per_second"], result["p50_us"], result["p99_us"]))
    return {"name": label, "subscribers": subscribers, **result}


FLOOR_RUNS = 3  # a ceiling: the best of a few runs, as this machine's speed wanders


def run_floor(args, binary, server_core, client_core, durable=False):
    """Ping against grpc-floor at each concurrency, the best of FLOOR_RUNS runs:
    {calls in flight: ops/s}. `durable`: the durable floor (start_floor's `log`), its log in a
    fresh directory removed afterwards."""
    directory = tempfile.mkdtemp(prefix="hotpath_floor_")
    process, address = start_floor(binary, server_core,
                                   os.path.join(directory, "floor.aof") if durable else None)
    name = "durable floor" if durable else "gRPC floor"
    floor = {}
    try:
        for concurrency in CONCURRENCY:
            command = pinned([
                args.bench, "--target=" + address, "--workload=ping",
                "--concurrency=%d" % concurrency, "--connections=%d" % CONNECTIONS,
                "--duration=" + args.duration, "--warmup=" + args.warmup, "--json"], client_core)
            for _ in range(FLOOR_RUNS):
                run = subprocess.run(command, capture_output=True, text=True, timeout=900)
                if run.returncode != 0:
                    sys.exit("hotpath-bench failed: %s %s" % (" ".join(command), run.stderr))
                calls = json.loads(run.stdout)["results"][0]["ops_per_second"]
                floor[concurrency] = max(floor.get(concurrency, 0), calls)
            print("%-14s %4d in flight: %9.0f calls/s" % (name, concurrency, floor[concurrency]))
    finally:
        process.terminate()
        status = process.wait(timeout=30)
        shutil.rmtree(directory, ignore_errors=True)
    if status != 0:
        sys.exit("grpc-floor exited with status %d" % status)
    return floor


def run_half_load(args, servers, client_core, workload, peak):
    """hotpath alone, arrivals at half of `peak` per second, timed from each arrival."""
    rate = peak / 2
    command = pinned([
        args.bench, "--target=" + servers.target, "--workload=" + workload,
        "--concurrency=%d" % CONCURRENCY[-1], "--connections=%d" % CONNECTIONS,
        "--duration=" + args.duration, "--warmup=" + args.warmup, "--rate=%.0f" % rate,
        "--json"], client_core)
    run = subprocess.run(command, capture_output=True, text=True, timeout=900)
    if run.returncode != 0:
        sys.exit("hotpath-bench failed: %s %s" % (" ".join(command), run.stderr))
    result = json.loads(run.stdout)["results"][0]
    print("%-14s at %6.0f/s (half of %.0f): p50 %6.0f us p99 %7.0f us p99.9 %7.0f us" % (
        workload, rate, peak, result["p50_us"], result["p99_us"], result["p999_us"]))
    return {"name": workload, "peak": peak, "rate": rate, **result}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default="build/release",
                        help="build directory holding the engine benchmarks")
    parser.add_argument("--hotpathd", required=True)
    parser.add_argument("--bench", required=True)
    parser.add_argument("--floor", help="grpc-floor binary (default: beside --bench)")
    parser.add_argument("--out", default="docs/benchmarks.md")
    parser.add_argument("--chart", default="docs/benchmarks.png")
    parser.add_argument("--duration", default="5s")
    parser.add_argument("--warmup", default="1s")
    args = parser.parse_args()

    available = cores()
    server_core, client_core = (available[0], available[1]) if len(available) >= 2 else (None, None)
    pinning = ("hotpathd and Redis ran pinned to core %d, the load generator to core %d."
               % (server_core, client_core) if server_core is not None
               else "Nothing was pinned (one core).")
    floor_binary = args.floor or os.path.join(os.path.dirname(args.bench), "grpc-floor")
    floor = run_floor(args, floor_binary, server_core, client_core)
    durable_floor = run_floor(args, floor_binary, server_core, client_core, durable=True)
    rows = []
    servers = None
    try:
        for workload, flags, fresh in SUITE:
            for concurrency in CONCURRENCY:
                if servers is None or fresh:
                    if servers is not None:
                        servers.stop()
                    servers = Servers(args, server_core)
                rows.append(run_entry(args, servers, client_core, workload, flags, concurrency))
        servers.stop()
        print("latency at half of peak ...")
        half_rows = []
        servers = Servers(args, server_core)
        for workload in HALF_LOAD:
            peak = max(row["hotpath"]["ops_per_second"] for row in rows
                       if row["name"] == workload and row["concurrency"] == CONCURRENCY[-1])
            half_rows.append(run_half_load(args, servers, client_core, workload, peak))
        servers.stop()
        print("pub/sub delivery ...")
        servers = Servers(args, server_core)
        delivery_rows = [run_delivery(args, servers, client_core, label, workload, flags)
                         for label, workload, flags in DELIVERY]
        print("acknowledged writes with fsync always ...")
        durable_rows = []
        for workload, flags in DURABLE_SUITE:
            for concurrency in CONCURRENCY:
                servers.stop()
                servers = Servers(args, server_core, fsync="always", redis_aof=True)
                durable_rows.append(
                    run_entry(args, servers, client_core, workload, flags, concurrency))
    finally:
        if servers is not None:
            servers.stop()
    print("engine data structures vs Redis ...")
    engine_section = engine_vs_redis.section(args.build, server_core)
    print("restart vs Redis ...")
    engine_section += "\n" + restart_vs_redis.section(args.build, server_core)
    write_markdown(args.out, rows, half_rows, durable_rows, delivery_rows, floor, durable_floor,
                   machine(), args, pinning, engine_section)
    write_chart(args.chart, rows)
    print("wrote %s and %s" % (args.out, args.chart))


if __name__ == "__main__":
    main()
