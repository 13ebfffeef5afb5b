"""The Envoy example against the real hotpathd (make test runs this).

Envoy itself is not packaged for Debian 12, so this test plays its part: it reads envoy.yaml,
checks the wiring (the rate limit filter's cluster exists and speaks HTTP/2), builds the
descriptors Envoy's route actions make for a request, and sends hotpathd, started on
ratelimit.yaml, the ShouldRateLimit calls Envoy would send.

    /usr/bin/python3 examples/envoy/envoy_example_test.py HOTPATHD_PATH PYTHON_STUBS_DIR
"""

import os
import subprocess
import sys
import unittest

import yaml

HOTPATHD, STUBS = sys.argv[1], sys.argv[2]
del sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [STUBS, os.path.join(HERE, "..", "..", "tools", "common")]

import grpc  # noqa: E402

from envoy.extensions.common.ratelimit.v3 import ratelimit_pb2 as descriptor_pb2  # noqa: E402
from envoy.service.ratelimit.v3 import rls_pb2, rls_pb2_grpc  # noqa: E402
from hotpathd import Hotpathd  # noqa: E402

ENVOY = yaml.safe_load(open(os.path.join(HERE, "envoy.yaml")))
RATELIMIT = os.path.join(HERE, "ratelimit.yaml")


def http_filter(name):
    listener = ENVOY["static_resources"]["listeners"][0]
    manager = listener["filter_chains"][0]["filters"][0]["typed_config"]
    return next(f["typed_config"] for f in manager["http_filters"] if f["name"] == name), manager


def descriptors(rate_limits, headers, remote_address):
    """What Envoy's rate limit actions make of a request; an action that cannot produce its
    entry (a missing header) drops that whole descriptor, as in Envoy."""
    out = []
    for rate_limit in rate_limits:
        entries = []
        for action in rate_limit["actions"]:
            if "request_headers" in action:
                spec = action["request_headers"]
                if spec["header_name"] not in headers:
                    entries = None
                    break
                entries.append((spec["descriptor_key"], headers[spec["header_name"]]))
            elif "remote_address" in action:
                entries.append(("remote_address", remote_address))
            else:
                raise AssertionError("action not modelled by this test: %s" % action)
        if entries:
            out.append(descriptor_pb2.RateLimitDescriptor(
                entries=[descriptor_pb2.RateLimitDescriptor.Entry(key=k, value=v)
                         for k, v in entries]))
    return out


class EnvoyExampleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = Hotpathd(HOTPATHD, ["--ratelimit.envoy_config=" + RATELIMIT]).__enter__()
        cls.addClassCleanup(cls.server.stop)
        cls.channel = grpc.insecure_channel(cls.server.grpc_address)
        cls.addClassCleanup(cls.channel.close)
        cls.stub = rls_pb2_grpc.RateLimitServiceStub(cls.channel)
        cls.filter, manager = http_filter("envoy.filters.http.ratelimit")
        route = manager["route_config"]["virtual_hosts"][0]["routes"][0]["route"]
        cls.rate_limits = route["rate_limits"]

    def should_rate_limit(self, headers, remote_address="10.0.0.1"):
        request = rls_pb2.RateLimitRequest(
            domain=self.filter["domain"],
            descriptors=descriptors(self.rate_limits, headers, remote_address), hits_addend=1)
        return self.stub.ShouldRateLimit(request, timeout=5)

    def test_the_filter_reaches_hotpath_over_http2(self):
        service = self.filter["rate_limit_service"]
        self.assertEqual(service["transport_api_version"], "V3")
        cluster_name = service["grpc_service"]["envoy_grpc"]["cluster_name"]
        clusters = {c["name"]: c for c in ENVOY["static_resources"]["clusters"]}
        self.assertIn(cluster_name, clusters)
        options = clusters[cluster_name]["typed_extension_protocol_options"]
        http = options["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]
        self.assertIn("http2_protocol_options", http["explicit_http_config"])
        endpoint = clusters[cluster_name]["load_assignment"]["endpoints"][0]["lb_endpoints"][0]
        self.assertEqual(endpoint["endpoint"]["address"]["socket_address"]["port_value"], 7070)
        self.assertEqual(yaml.safe_load(open(RATELIMIT))["domain"], self.filter["domain"])

    def test_hotpathd_accepts_the_example_configuration(self):
        result = subprocess.run([HOTPATHD, "--check-config", "--ratelimit.envoy_config=" + RATELIMIT],
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_an_api_key_gets_three_a_minute_and_the_premium_key_more(self):
        OK, OVER = rls_pb2.RateLimitResponse.OK, rls_pb2.RateLimitResponse.OVER_LIMIT
        for remaining in (2, 1, 0):
            answer = self.should_rate_limit({"x-api-key": "k1"})
            self.assertEqual(answer.overall_code, OK)
            self.assertEqual(answer.statuses[0].limit_remaining, remaining)
        over = self.should_rate_limit({"x-api-key": "k1"})
        self.assertEqual(over.overall_code, OVER)
        self.assertEqual(over.statuses[0].code, OVER)
        self.assertEqual(over.statuses[1].code, OK)  # the address is still under its limit
        self.assertEqual(over.statuses[0].current_limit.requests_per_unit, 3)
        for _ in range(5):
            self.assertEqual(self.should_rate_limit({"x-api-key": "premium-key"}).overall_code, OK)

    def test_without_an_api_key_only_the_address_limit_applies(self):
        answers = [self.should_rate_limit({}, remote_address="10.9.9.9") for _ in range(61)]
        self.assertEqual(len(answers[0].statuses), 1)
        self.assertTrue(all(a.overall_code == rls_pb2.RateLimitResponse.OK for a in answers[:60]))
        self.assertEqual(answers[60].overall_code, rls_pb2.RateLimitResponse.OVER_LIMIT)


if __name__ == "__main__":
    unittest.main()
