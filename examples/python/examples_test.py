"""The Python examples against the real hotpathd, over real HTTP (make test runs this).

    /usr/bin/python3 examples/python/examples_test.py HOTPATHD_PATH PYTHON_STUBS_DIR
"""

import json
import os
import sys
import threading
import unittest
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

HOTPATHD, STUBS = sys.argv[1], sys.argv[2]
del sys.argv[1:3]
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [STUBS, HERE, os.path.join(HERE, "..", "..", "tools", "common")]

import grpc  # noqa: E402

from app import make_app  # noqa: E402
from hotpath.session.v1 import session_pb2, session_pb2_grpc  # noqa: E402
from hotpathd import Hotpathd  # noqa: E402
from rate_limit import RateLimited  # noqa: E402


class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ExamplesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Cleanups run even when a later step here fails, so nothing is left running.
        cls.server = Hotpathd(HOTPATHD).__enter__()
        cls.addClassCleanup(cls.server.stop)
        cls.channel = grpc.insecure_channel(cls.server.grpc_address)
        cls.addClassCleanup(cls.channel.close)
        cls.http = make_server("127.0.0.1", 0, make_app(cls.channel), handler_class=QuietHandler)
        cls.addClassCleanup(cls.http.server_close)
        cls.base = "http://127.0.0.1:%d" % cls.http.server_port
        threading.Thread(target=cls.http.serve_forever, daemon=True).start()
        cls.addClassCleanup(cls.http.shutdown)

    def call(self, path, token=None, method="GET"):
        request = urllib.request.Request(self.base + path, method=method)
        if token:
            request.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, dict(response.headers), json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), json.load(error)

    def login(self, user):
        status, _, body = self.call("/login?user=" + user, method="POST")
        self.assertEqual(status, 200, body)
        return body["token"]

    def test_session_middleware_admits_a_live_session_only(self):
        token = self.login("alice")
        status, headers, body = self.call("/me", token)
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"user": "alice", "attributes": {"plan": "free"}})
        self.assertEqual(headers["RateLimit-Limit"], "5")

        self.assertEqual(self.call("/me")[0], 401)
        self.assertEqual(self.call("/me", "not-a-token")[2]["error"], "session expired or revoked")
        sessions = session_pb2_grpc.SessionServiceStub(self.channel)
        sessions.Revoke(session_pb2.RevokeRequest(token=token), timeout=5)
        self.assertEqual(self.call("/me", token)[0], 401)

    def test_rate_limited_handler_answers_429_with_retry_after(self):
        token = self.login("bob")
        remaining = [self.call("/me", token)[1]["RateLimit-Remaining"] for _ in range(5)]
        self.assertEqual(remaining, ["4", "3", "2", "1", "0"])
        status, headers, body = self.call("/me", token)
        self.assertEqual(status, 429, body)
        self.assertEqual(body["outcome"], "OUTCOME_DENIED")
        self.assertTrue(1 <= int(headers["Retry-After"]) <= 60, headers)
        # Limits are per user: another user is not affected.
        self.assertEqual(self.call("/me", self.login("carol"))[0], 200)

    def test_rate_limits_fail_open_when_unreachable_but_not_on_mistakes(self):
        def ok(environ, start_response):
            start_response("200 OK", [])
            return [b"ok"]

        def call(handler):
            seen = []
            handler({"REMOTE_ADDR": "10.0.0.1"}, lambda status, headers: seen.append(status))
            return seen[0]

        dead = grpc.insecure_channel("127.0.0.1:1")
        self.addCleanup(dead.close)
        key = lambda environ: environ["REMOTE_ADDR"]  # noqa: E731
        self.assertEqual(call(RateLimited(ok, dead, key, policy="api")), "200 OK")
        self.assertEqual(call(RateLimited(ok, dead, key, policy="api", fail_open=False)),
                         "503 Service Unavailable")
        # A live hotpath that refuses the check (no policy of that name) is not "unreachable".
        self.assertEqual(call(RateLimited(ok, self.channel, key, policy="no-such-policy")),
                         "500 Internal Server Error")

    def test_sessions_fail_closed_when_hotpath_is_unreachable(self):
        dead = grpc.insecure_channel("127.0.0.1:1")
        environ = {"PATH_INFO": "/me", "HTTP_AUTHORIZATION": "Bearer x"}
        seen = []
        body = make_app(dead)(environ, lambda status, headers: seen.append(status))
        self.assertEqual(seen, ["503 Service Unavailable"])
        self.assertEqual(json.loads(b"".join(body)), {"error": "sessions unavailable"})
        dead.close()


if __name__ == "__main__":
    unittest.main()
