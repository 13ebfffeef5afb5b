"""A small web service on hotpath: log in, then call a rate-limited endpoint with the session.

    /usr/bin/python3 app.py --target 127.0.0.1:7070 --port 8000
    curl -s -X POST 'localhost:8000/login?user=alice'          # {"token": "..."}
    curl -s -H "Authorization: Bearer $TOKEN" localhost:8000/me  # 5 per minute per user

The stubs come from protos/ (the build generates them into build/<dir>/python; put that
directory on PYTHONPATH, see docs/getting-started.md).
"""

import argparse
import json
from urllib.parse import parse_qs
from wsgiref.simple_server import make_server

import grpc

from hotpath.ratelimit.v1 import ratelimit_pb2
from hotpath.session.v1 import session_pb2, session_pb2_grpc
from rate_limit import RateLimited
from session_middleware import SessionMiddleware, json_response

# Five calls per minute per user, a sliding window; a policy from the server's policy file
# would do as well (RateLimited(..., policy="api")).
PER_USER = ratelimit_pb2.Limit(algorithm=ratelimit_pb2.ALGORITHM_SLIDING_WINDOW, limit=5,
                               period={"seconds": 60})


def make_app(channel, namespace="", metadata=()):
    sessions = session_pb2_grpc.SessionServiceStub(channel)

    def login(environ, start_response):
        # A real service checks a password or an identity provider here first.
        user = parse_qs(environ.get("QUERY_STRING", "")).get("user", [""])[0]
        if environ.get("REQUEST_METHOD") != "POST" or not user:
            return json_response(start_response, "400 Bad Request",
                                 {"error": "POST /login?user=NAME"})
        created = sessions.Create(session_pb2.CreateRequest(
            namespace=namespace, user_id=user, attributes={"plan": "free"},
            device=session_pb2.Device(ip=environ.get("REMOTE_ADDR", ""),
                                      user_agent=environ.get("HTTP_USER_AGENT", ""))),
            timeout=1.0, metadata=metadata)
        return json_response(start_response, "200 OK", {"token": created.token})

    def me(environ, start_response):
        session = environ["hotpath.session"]
        return json_response(start_response, "200 OK",
                             {"user": session.user_id, "attributes": dict(session.attributes)})

    limited_me = RateLimited(me, channel, limits=[PER_USER], namespace=namespace,
                             metadata=metadata,
                             key_of=lambda environ: "me:" + environ["hotpath.session"].user_id)

    def route(environ, start_response):
        handlers = {"/login": login, "/me": limited_me}
        handler = handlers.get(environ.get("PATH_INFO", "/"))
        if handler is None:
            return json_response(start_response, "404 Not Found", {"error": "no such page"})
        return handler(environ, start_response)

    return SessionMiddleware(route, channel, namespace=namespace, exempt=("/login",),
                             metadata=metadata)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="127.0.0.1:7070", help="hotpathd's gRPC address")
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (loopback)")
    args = parser.parse_args()
    channel = grpc.insecure_channel(args.target)
    with make_server("127.0.0.1", args.port, make_app(channel)) as server:
        print(f"serving on http://127.0.0.1:{args.port} (hotpath at {args.target})")
        server.serve_forever()


if __name__ == "__main__":
    main()
