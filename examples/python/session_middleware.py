"""WSGI middleware that admits a request only with a live hotpath session.

The token comes from `Authorization: Bearer <token>` or a `session` cookie. The middleware asks
hotpath's SessionService for the session (which also extends its idle expiry) and puts it in
`environ["hotpath.session"]` for the application. Unknown, expired and revoked tokens get 401,
all the same, as hotpath answers them. When hotpath cannot be reached the request gets 503:
authentication fails closed, never open.

    app = SessionMiddleware(app, grpc.insecure_channel("127.0.0.1:7070"), exempt=("/login",))
"""

import json
from http.cookies import SimpleCookie

import grpc

from hotpath.session.v1 import session_pb2, session_pb2_grpc


def _token(environ):
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Bearer "):
        return header[len("Bearer "):].strip()
    cookie = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    return cookie["session"].value if "session" in cookie else ""


def json_response(start_response, status, body, headers=()):
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data)))] + list(headers))
    return [data]


class SessionMiddleware:
    def __init__(self, app, channel, namespace="", exempt=(), timeout=1.0, metadata=()):
        """`metadata`: call metadata, e.g. (("authorization", "Bearer <api key>"),)."""
        self._app = app
        self._sessions = session_pb2_grpc.SessionServiceStub(channel)
        self._namespace = namespace
        self._exempt = set(exempt)
        self._timeout = timeout
        self._metadata = tuple(metadata)

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "/") in self._exempt:
            return self._app(environ, start_response)
        token = _token(environ)
        if not token:
            return json_response(start_response, "401 Unauthorized", {"error": "no session"},
                                 [("WWW-Authenticate", "Bearer")])
        try:
            response = self._sessions.Get(
                session_pb2.GetRequest(namespace=self._namespace, token=token),
                timeout=self._timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.NOT_FOUND:
                return json_response(start_response, "401 Unauthorized",
                                     {"error": "session expired or revoked"},
                                     [("WWW-Authenticate", "Bearer")])
            return json_response(start_response, "503 Service Unavailable",
                                 {"error": "sessions unavailable"})
        environ["hotpath.session"] = response.session
        return self._app(environ, start_response)
