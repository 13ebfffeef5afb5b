"""A WSGI handler wrapper that enforces a hotpath rate limit per caller.

Each request is checked against a named policy (from hotpathd's `ratelimit.policy_file`) or
inline limits, keyed by what `key_of(environ)` returns (the session's user, an API key, the
client address). Allowed requests carry `RateLimit-Limit` and `RateLimit-Remaining`; denied ones
get 429 with `Retry-After` in whole seconds, rounded up. A cost above what the limit can ever
admit is 429 without `Retry-After` (retrying cannot help). If hotpath cannot be reached
(UNAVAILABLE, or no answer in time) the request goes through (fail open, like Envoy's
`failure_mode_deny: false`), unless `fail_open=False`; any other error (an unknown policy, a
key without the scope) answers 500, so a mistake never turns limiting off unnoticed.

    handler = RateLimited(handler, channel, key_of=lambda env: env["REMOTE_ADDR"], policy="api")
"""

import math

import grpc

from hotpath.ratelimit.v1 import ratelimit_pb2, ratelimit_pb2_grpc
from session_middleware import json_response

# The answers that mean hotpath could not be asked, as opposed to a refused request.
UNREACHABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class RateLimited:
    def __init__(self, app, channel, key_of, policy="", limits=(), namespace="", cost=1,
                 fail_open=True, timeout=0.5, metadata=()):
        self._app = app
        self._limiter = ratelimit_pb2_grpc.RateLimiterServiceStub(channel)
        self._key_of = key_of
        self._policy = policy
        self._limits = list(limits)
        self._namespace = namespace
        self._cost = cost
        self._fail_open = fail_open
        self._timeout = timeout
        self._metadata = tuple(metadata)

    def __call__(self, environ, start_response):
        request = ratelimit_pb2.CheckRequest(namespace=self._namespace, key=self._key_of(environ),
                                             policy=self._policy, limits=self._limits,
                                             cost=self._cost)
        try:
            answer = self._limiter.Check(request, timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            if error.code() not in UNREACHABLE:
                # A mistake (an unknown policy, a key without the ratelimit:check scope) must
                # not turn limiting off unnoticed.
                return json_response(start_response, "500 Internal Server Error",
                                     {"error": "rate limit check failed: %s" % error.code().name})
            if self._fail_open:
                return self._app(environ, start_response)
            return json_response(start_response, "503 Service Unavailable",
                                 {"error": "rate limiter unavailable"})
        headers = [("RateLimit-Limit", str(answer.limit)),
                   ("RateLimit-Remaining", str(answer.remaining))]
        if answer.outcome == ratelimit_pb2.OUTCOME_ALLOWED:
            def start_with_headers(status, response_headers, exc_info=None):
                return start_response(status, list(response_headers) + headers, exc_info)
            return self._app(environ, start_with_headers)
        if answer.outcome == ratelimit_pb2.OUTCOME_DENIED:
            wait = answer.retry_after.seconds + answer.retry_after.nanos / 1e9
            headers.append(("Retry-After", str(max(1, math.ceil(wait)))))
        return json_response(start_response, "429 Too Many Requests",
                             {"error": "rate limited",
                              "outcome": ratelimit_pb2.Outcome.Name(answer.outcome)}, headers)
