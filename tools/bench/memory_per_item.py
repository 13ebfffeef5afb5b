"""Memory per pub/sub message and per rate-limited key, as docs/operations.md quotes them.

    /usr/bin/python3 tools/bench/memory_per_item.py build/release/services/server/hotpathd

Starts the given hotpathd (persistence off), publishes 200,000 messages of 100 bytes with one
header in batches of 1,000, then checks 100,000 distinct keys once each (a token bucket), and
prints the growth per item of the engine's own count (GetInfo.memory_bytes) and of the
process's resident memory (VmRSS). Needs the Python stubs (build/<dir>/python; the script
looks next to the binary's build tree).
"""

import os
import re
import sys

HOTPATHD = os.path.abspath(sys.argv[1])
BUILD = os.path.dirname(os.path.dirname(os.path.dirname(HOTPATHD)))
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.join(BUILD, "python"), os.path.join(HERE, "..", "common")]

import grpc  # noqa: E402

from hotpath.admin.v1 import admin_pb2, admin_pb2_grpc  # noqa: E402
from hotpath.pubsub.v1 import pubsub_pb2, pubsub_pb2_grpc  # noqa: E402
from hotpath.ratelimit.v1 import ratelimit_pb2, ratelimit_pb2_grpc  # noqa: E402
from hotpathd import Hotpathd  # noqa: E402

MESSAGES, KEYS, BATCH = 200_000, 100_000, 1_000


def main():
    with Hotpathd(HOTPATHD, ["--persistence.enabled=false"]) as server:
        channel = grpc.insecure_channel(server.grpc_address)
        admin = admin_pb2_grpc.AdminServiceStub(channel)
        pubsub = pubsub_pb2_grpc.PubSubServiceStub(channel)
        limiter = ratelimit_pb2_grpc.RateLimiterServiceStub(channel)

        def sample():
            with open("/proc/%d/status" % server.pid) as status:
                rss = int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) * 1024
            return admin.GetInfo(admin_pb2.GetInfoRequest()).memory_bytes, rss

        before = sample()
        message = pubsub_pb2.OutgoingMessage(payload=b"x" * 100, headers={"k": "v"})
        for _ in range(MESSAGES // BATCH):
            pubsub.PublishBatch(pubsub_pb2.PublishBatchRequest(topic="t", messages=[message] * BATCH))
        published = sample()
        limit = ratelimit_pb2.Limit(algorithm=ratelimit_pb2.ALGORITHM_TOKEN_BUCKET, limit=100,
                                    period={"seconds": 60})
        for start in range(0, KEYS, BATCH):
            checks = [ratelimit_pb2.CheckRequest(key="user:%d" % k, limits=[limit])
                      for k in range(start, start + BATCH)]
            limiter.CheckBatch(ratelimit_pb2.CheckBatchRequest(checks=checks))
        checked = sample()
        channel.close()
    print("pub/sub message (100-byte payload, one header): engine %.0f B, RSS %.0f B"
          % ((published[0] - before[0]) / MESSAGES, (published[1] - before[1]) / MESSAGES))
    print("rate-limited key (token bucket, user:N): engine %.0f B, RSS %.0f B"
          % ((checked[0] - published[0]) / KEYS, (checked[1] - published[1]) / KEYS))


if __name__ == "__main__":
    main()
