"""Shared HTTP plumbing of the sandbox servers: routing, JSON replies, faults, control endpoints.

A :class:`Service` describes one API (its routes, error-body format, authentication and the
body faults only it understands); :class:`SandboxHTTPServer` serves it on a thread with the
standard library, applies the shared :class:`~pmkpi_sandbox.faults.FaultPlan`, counts
requests, and answers the ``/_sandbox/*`` control endpoints. Each connection carries one
request (``Connection: close``), so no client ever waits on a kept-alive socket.
"""

from __future__ import annotations

import copy
import json
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from pmkpi_sandbox.faults import BODY_KINDS, REQUEST_KINDS, Fault, FaultPlan

log = logging.getLogger(__name__)


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: Message
    body: bytes

    def json(self) -> dict:
        """The body as a JSON object; raises ``ValueError`` when it is not one."""
        data = json.loads(self.body or b"{}")
        if not isinstance(data, dict):
            raise ValueError("the request body is not a JSON object")
        return data


@dataclass
class Reply:
    """A JSON answer; ``rows_key``/``count_key`` name where its rows and row count live.

    ``raw`` replaces the JSON of ``body`` with these bytes (an edge's HTML page, or nothing; then
    ``content_type`` None sends no ``Content-Type``).
    """

    body: dict
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    rows_key: str | None = None
    count_key: str | None = None
    raw: bytes | None = None


EDGE_PAGES = {
    403: ("Access Denied", "You don't have permission to access this server."),
    429: ("Too Many Requests", "Too many requests."),
    500: ("Internal Server Error", "The server encountered an internal error."),
    502: ("Bad Gateway", "The proxy server received an invalid response from an upstream server."),
    503: ("Service Unavailable", "No server is available to handle this request."),
}


def edge_reply(status: int, body: str) -> Reply:
    """What the CDN or load balancer in front of an API answers: no body at all, or an HTML page."""
    if body == "none":
        return Reply({}, status=status, content_type=None, raw=b"")
    title, text = EDGE_PAGES[status]
    page = (f"<HTML><HEAD><TITLE>{title}</TITLE></HEAD><BODY><H1>{title}</H1>{text}<P>Reference "
            f"#18.{uuid.uuid4().hex[:8]}</P></BODY></HTML>")
    return Reply({}, status=status, content_type="text/html", raw=page.encode())


class ApiError(Exception):
    """Raised by a handler to answer ``status`` in its API's own error format."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


Handler = Callable[[Request], Reply]


class Service:
    """One sandboxed API; subclasses define routes, the error format and their own faults."""

    name: str
    default_missing_field: str

    def route(self, request: Request) -> tuple[list[str], Handler] | None:
        """The request's counter keys (without the server prefix) and handler, or None (404)."""
        raise NotImplementedError

    def error(self, status: int, message: str | None) -> Reply:
        """An error answer in the API's format; ``message`` None means the API's usual text."""
        raise NotImplementedError

    def authorize(self, request: Request) -> None:
        """Raise :class:`ApiError` when the request's credentials are refused."""

    def corrupt(self, fault: Fault, reply: Reply, request: Request) -> None:
        """Apply a body fault that depends on this API's row shape (``wrong_type``, ...)."""
        raise NotImplementedError


def respond(service: Service, plan: FaultPlan, request: Request) -> tuple[Reply, bool]:
    """Answer one request, applying the plan's faults; the flag asks to truncate the body."""
    if request.path.startswith("/_sandbox/"):
        return _control(service, plan, request), False
    matched = service.route(request)
    if matched is None:
        return service.error(404, None), False
    keys, handler = matched
    plan.count([f"{service.name}.{key}" for key in keys])
    fault = plan.take(service.name, request.path, REQUEST_KINDS)
    if fault is not None and fault.kind == "status":
        reply = service.error(fault.status, fault.message) if fault.body == "api" else edge_reply(
            fault.status, fault.body)
        if fault.retry_after is not None:
            reply.headers["Retry-After"] = f"{fault.retry_after:g}"
        return reply, False
    if fault is not None:
        time.sleep(fault.seconds)
    try:
        service.authorize(request)
        reply = handler(request)
    except ApiError as exc:
        return service.error(exc.status, exc.message), False
    fault = plan.take(service.name, request.path, BODY_KINDS)
    if fault is not None:
        _corrupt(service, fault, reply, request)
    return reply, fault is not None and fault.kind == "truncate"


def _corrupt(service: Service, fault: Fault, reply: Reply, request: Request) -> None:
    rows = reply.body.get(reply.rows_key) if reply.rows_key else None
    if fault.kind == "duplicate_rows":
        if rows:
            rows.append(copy.deepcopy(rows[0]))
    elif fault.kind == "inflated_row_count":
        if reply.count_key:
            reply.body[reply.count_key] = reply.body.get(reply.count_key, 0) + fault.extra
    elif fault.kind == "missing_field":
        reply.body.pop(fault.field or service.default_missing_field, None)
    elif fault.kind != "truncate":
        service.corrupt(fault, reply, request)


def _control(service: Service, plan: FaultPlan, request: Request) -> Reply:
    endpoint = (request.method, request.path)
    if endpoint == ("GET", "/_sandbox/stats"):
        return Reply(plan.stats())
    if endpoint == ("POST", "/_sandbox/reset"):
        plan.reset()
        return Reply({"reset": True})
    if endpoint == ("POST", "/_sandbox/faults"):
        try:
            plan.configure(request.json(), default_server=service.name)
        except (ValueError, TypeError, KeyError) as exc:
            return Reply({"error": f"bad fault plan: {exc}"}, status=400)
        return Reply({"pending": len(plan.pending())})
    return Reply({"error": f"no sandbox endpoint {request.method} {request.path}"}, status=404)


class _RequestHandler(BaseHTTPRequestHandler):
    server: SandboxHTTPServer

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: the sandbox does not log each request."""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._dispatch()

    def _dispatch(self) -> None:
        service, plan = self.server.service, self.server.plan
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=url.path,
            query={k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()},
            headers=self.headers,
            body=self.rfile.read(length) if length else b"",
        )
        try:
            reply, truncate = respond(service, plan, request)
        except Exception as exc:  # a sandbox bug must still answer, in the API's format
            log.exception("sandbox %s failed on %s %s", service.name, self.command, self.path)
            reply, truncate = service.error(500, f"sandbox error: {exc}"), False
        data = json.dumps(reply.body).encode() if reply.raw is None else reply.raw
        if truncate:
            data = data[: len(data) // 2]
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", f"{reply.content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class SandboxHTTPServer(ThreadingHTTPServer):
    """Serves one :class:`Service` on a background thread; port 0 picks a free port."""

    daemon_threads = True

    def __init__(self, service: Service, plan: FaultPlan, host: str, port: int) -> None:
        super().__init__((host, port), _RequestHandler)
        self.service = service
        self.plan = plan
        self._thread = threading.Thread(
            target=self.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"pmkpi-sandbox-{service.name}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` of the listening socket (loopback when bound to all interfaces)."""
        host, port = self.server_address[:2]
        return f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def start(self) -> SandboxHTTPServer:
        """Start serving on the background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
        self._thread.join()

    def handle_error(self, request: object, client_address: object) -> None:
        """Ignore clients that hang up mid-answer; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)
