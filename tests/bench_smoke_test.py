#!/usr/bin/python3
"""Smoke test of hotpath-bench: a second-long run against a real hotpathd and a real Redis.

Usage (ctest runs it): bench_smoke_test.py HOTPATHD HOTPATH_BENCH
It checks that the tool reports sane numbers, not how fast anything is.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "bench"))
import run_suite  # noqa: E402  (starts hotpathd the way make bench does)

HOTPATHD = sys.argv[1] if len(sys.argv) > 1 else "build/test/services/server/hotpathd"
BENCH = sys.argv[2] if len(sys.argv) > 2 else "build/test/tools/bench/hotpath-bench"


class BenchSmokeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.data_dir = tempfile.mkdtemp(prefix="bench_smoke_")
        cls.hotpathd, cls.target, cls.metrics = run_suite.start_hotpathd(HOTPATHD, None,
                                                                         cls.data_dir)

    @classmethod
    def tearDownClass(cls):
        cls.hotpathd.stop()
        shutil.rmtree(cls.data_dir, ignore_errors=True)

    def bench(self, *flags):
        return subprocess.run([BENCH, "--target=" + self.target, *flags],
                              capture_output=True, text=True, timeout=120)

    def test_ping_against_hotpath_and_redis_reports_sane_numbers(self):
        run = self.bench("--metrics=" + self.metrics, "--workload=ping", "--duration=1s",
                         "--warmup=200ms", "--connections=2", "--concurrency=16", "--vs_redis",
                         "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        report = json.loads(run.stdout)
        self.assertEqual(report["workload"], "ping")
        self.assertEqual([r["target"] for r in report["results"]], ["hotpath", "redis"])
        for result in report["results"]:
            with self.subTest(target=result["target"]):
                self.assertGreater(result["operations"], 100)
                self.assertEqual(result["errors"], 0)
                self.assertAlmostEqual(result["seconds"], 1.0, delta=0.5)
                # seconds is printed to the millisecond, so allow for its rounding
                expected = result["operations"] / result["seconds"]
                self.assertAlmostEqual(result["ops_per_second"], expected, delta=expected * 0.002)
                percentiles = [result[k] for k in ("p50_us", "p90_us", "p99_us", "p999_us",
                                                   "max_us")]
                self.assertEqual(percentiles, sorted(percentiles))
                self.assertGreater(percentiles[0], 0)
                self.assertIsNotNone(result["server_memory_bytes"])
        self.assertEqual(report["results"][0]["concurrency"], 16)
        self.assertEqual(report["results"][0]["connections"], 2)
        self.assertEqual(report["results"][1]["connections"], 16)  # one per call in flight

    def test_session_workloads_run_without_errors_and_report_memory_per_session(self):
        for workload in ("session-create", "session-get"):
            with self.subTest(workload=workload):
                run = self.bench("--metrics=" + self.metrics, "--workload=" + workload,
                                 "--keys=200", "--duration=500ms", "--warmup=0s",
                                 "--concurrency=8", "--vs_redis", "--json")
                self.assertEqual(run.returncode, 0, run.stderr)
                report = json.loads(run.stdout)
                for result in report["results"]:
                    self.assertGreater(result["operations"], 10, result["target"])
                    self.assertEqual(result["errors"], 0, result["target"])
        self.assertEqual(report["items"], 200)  # session-get: memory per session

    def test_leaderboard_workloads_run_without_errors_and_report_memory_per_member(self):
        for workload in ("leaderboard-submit", "leaderboard-top", "leaderboard-rank"):
            with self.subTest(workload=workload):
                run = self.bench("--metrics=" + self.metrics, "--workload=" + workload,
                                 "--keys=300", "--duration=500ms", "--warmup=0s",
                                 "--concurrency=8", "--vs_redis", "--json")
                self.assertEqual(run.returncode, 0, run.stderr)
                report = json.loads(run.stdout)
                self.assertEqual(report["items"], 300)
                for result in report["results"]:
                    self.assertGreater(result["operations"], 10, result["target"])
                    self.assertEqual(result["errors"], 0, result["target"])
                    self.assertGreater(result["server_memory_bytes"], 0, result["target"])

    def test_ratelimit_workloads_run_without_errors(self):
        for workload, flags in (("ratelimit", []), ("ratelimit", ["--batch=10"]),
                                ("ratelimit-envoy", [])):
            with self.subTest(workload=workload, flags=flags):
                run = self.bench("--workload=" + workload, "--keys=100", "--duration=500ms",
                                 "--warmup=0s", "--concurrency=8", "--vs_redis", "--json", *flags)
                self.assertEqual(run.returncode, 0, run.stderr)
                for result in json.loads(run.stdout)["results"]:
                    self.assertGreater(result["operations"], 10, result["target"])
                    self.assertEqual(result["errors"], 0, result["target"])

    def test_ratelimit_envoy_refuses_a_server_without_its_configuration(self):
        # Without the bench's configuration every descriptor is unlimited: the run would
        # measure lookups that find nothing.
        with tempfile.TemporaryDirectory(prefix="bench_smoke_bare_") as data_dir:
            with run_suite.Hotpathd(HOTPATHD, [], data_dir=data_dir) as bare:
                run = subprocess.run([BENCH, "--target=" + bare.grpc_address,
                                      "--workload=ratelimit-envoy", "--duration=200ms",
                                      "--warmup=0s"], capture_output=True, text=True, timeout=60)
        self.assertNotEqual(run.returncode, 0)
        self.assertIn("--ratelimit.envoy_config=tools/bench/ratelimit_envoy.yaml", run.stderr)

    def test_pubsub_workloads_run_without_errors(self):
        for workload, flags in (("pubsub-publish", ["--vs_redis"]),
                                ("pubsub-delivery", ["--subscribers=3"])):
            with self.subTest(workload=workload):
                run = self.bench("--workload=" + workload, "--payload=32", "--duration=500ms",
                                 "--warmup=0s", "--concurrency=8", "--json", *flags)
                self.assertEqual(run.returncode, 0, run.stderr)
                for result in json.loads(run.stdout)["results"]:
                    self.assertGreater(result["operations"], 10, result["target"])
                    self.assertEqual(result["errors"], 0, result["target"])

    def test_a_load_is_compacted_on_both_sides_before_the_window(self):
        # hotpathd's log gets AdminService/Rewrite, a Redis with an append-only file
        # BGREWRITEAOF, so that no load-triggered rewrite runs inside the measured window.
        def hotpath_rewrites():
            with urllib.request.urlopen("http://%s/metrics" % self.metrics, timeout=10) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith('hotpath_rewrites_total{result="ok"}'):
                        return float(line.split()[-1])
            return 0.0

        def redis_persistence(address):
            host, port = address.rsplit(":", 1)
            info = subprocess.run(["redis-cli", "-h", host, "-p", port, "INFO", "persistence"],
                                  capture_output=True, text=True, timeout=30).stdout
            return dict(line.split(":", 1) for line in info.splitlines() if ":" in line)

        aof_dir = tempfile.mkdtemp(prefix="bench_smoke_aof_")
        redis, address = run_suite.start_redis(None, aof_dir)
        try:
            before = hotpath_rewrites()
            run = self.bench("--workload=leaderboard-submit", "--keys=300", "--requests=50",
                             "--warmup=0s", "--concurrency=4", "--vs_redis",
                             "--redis_address=" + address, "--json")
            self.assertEqual(run.returncode, 0, run.stderr)
            self.assertEqual(hotpath_rewrites(), before + 1)
            persistence = redis_persistence(address)
            self.assertEqual(persistence["aof_rewrites"], "1")
            self.assertEqual(persistence["aof_rewrite_in_progress"], "0")
        finally:
            redis.kill()
            redis.wait()
            shutil.rmtree(aof_dir, ignore_errors=True)

    def test_grpc_floor_answers_ping_at_every_suite_concurrency(self):
        args = argparse.Namespace(bench=BENCH, duration="300ms", warmup="0s")
        floor = run_suite.run_floor(args, os.path.join(os.path.dirname(BENCH), "grpc-floor"),
                                    None, None)  # run_floor exits unless grpc-floor stops with 0
        self.assertEqual(sorted(floor), run_suite.CONCURRENCY)
        for concurrency, calls_per_second in floor.items():
            self.assertGreater(calls_per_second, 100, concurrency)

    def test_durable_floor_answers_each_ping_after_logging_it(self):
        directory = tempfile.mkdtemp(prefix="durable_floor_")
        log = os.path.join(directory, "floor.aof")
        try:
            process, address = run_suite.start_floor(
                os.path.join(os.path.dirname(BENCH), "grpc-floor"), None, log)
            run = subprocess.run([BENCH, "--target=" + address, "--workload=ping",
                                  "--requests=300", "--warmup=0s", "--concurrency=8", "--json"],
                                 capture_output=True, text=True, timeout=120)
            process.terminate()
            self.assertEqual(process.wait(timeout=30), 0)  # the log closed cleanly
            self.assertEqual(run.returncode, 0, run.stderr)
            result = json.loads(run.stdout)["results"][0]
            self.assertEqual(result["errors"], 0)
            # A record per answered Ping, whole: frames are [length u32][crc u32][payload]. The
            # client answers a few Pings it does not count (readiness, the last ones in flight).
            with open(log, "rb") as f:
                data = f.read()
            frames, offset = 0, 0
            while offset + 8 <= len(data):
                offset += 8 + int.from_bytes(data[offset:offset + 4], "little")
                frames += 1
            self.assertEqual(offset, len(data))
            self.assertGreaterEqual(frames, result["operations"])
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def test_request_count_measures_exactly_that_many(self):
        run = self.bench("--requests=500", "--warmup=0s", "--concurrency=8", "--vs_redis",
                         "--json")
        self.assertEqual(run.returncode, 0, run.stderr)
        for result in json.loads(run.stdout)["results"]:
            self.assertEqual(result["operations"], 500, result["target"])

    def test_table_prints_the_ratio(self):
        run = self.bench("--duration=500ms", "--warmup=0s", "--concurrency=4", "--vs_redis")
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertIn("hotpath/redis: throughput ", run.stdout)
        self.assertIn("p99.9 us", run.stdout)

    def test_bad_flags_exit_2_with_one_line(self):
        for flags, message in [
            (["--workload=nope"], 'unknown workload "nope"'),
            (["--batch=2"], "ping does not batch"),
            (["--distribution=normal"], "distribution must be uniform or zipfian"),
            (["--concurrency=0"], "--concurrency must be at least 1"),
        ]:
            with self.subTest(flags=flags):
                run = self.bench(*flags)
                self.assertEqual(run.returncode, 2)
                self.assertEqual(run.stderr.count("\n"), 1)
                self.assertIn(message, run.stderr)

    def test_unreachable_target_fails(self):
        run = subprocess.run([BENCH, "--target=127.0.0.1:1", "--duration=1s"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(run.returncode, 1)
        self.assertIn("cannot connect to hotpathd", run.stderr)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
