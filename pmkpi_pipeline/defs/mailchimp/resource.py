"""The Mailchimp Marketing API resource: the official ``mailchimp-marketing`` client, paged and retried.

The client has no retries, returns ``application/problem+json`` error bodies as raw strings and
drops the response headers of an error; this resource adds retries (reading ``Retry-After``
from the last response it saw), pages every collection by count/offset until ``total_items``,
and checks that the pages add up without repeating an item.

Answers that are not the API's own come as they really do: under load Mailchimp answers 429 or
403 with no body, and the edge in front of it answers 5xx (or 403) with an HTML page. The client
then *returns* the raw response (no body, or a body it could not parse) instead of raising, or
raises with the HTML as its text. Such answers are never taken for data: 429 and 5xx are retried,
a 403 without a problem body is reported as the edge refusing the request (not as bad
credentials), anything else names the status and what came instead of JSON.

Credentials: the API key (``PMKPI_MAILCHIMP_API_KEY``, whose ``-usNN`` suffix names the data
centre) or an OAuth access token (``PMKPI_MAILCHIMP_ACCESS_TOKEN``, sent as ``Authorization:
Bearer``; its data centre and API endpoint come from Mailchimp's OAuth metadata endpoint, unless
``PMKPI_MAILCHIMP_BASE_URL`` names the API). Neither ever appears in a message.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections.abc import Callable, Iterator

import requests
from dagster import ConfigurableResource, get_dagster_logger
from pydantic import PrivateAttr

from ...lib.retry import Retryable, SourceError, call_with_retries, parse_retry_after
from ...lib.settings import MAILCHIMP_OAUTH_METADATA_URL, MAILCHIMP_SETTLING_DAYS

EDGE_REFUSAL = ("Mailchimp's edge refused the request (rate limiting or a blocked IP), not a bad {credential}; "
                "wait and re-run, or check that this machine's IP is allowed")
_TITLE = re.compile(r"<title>(.*?)</title>", re.I | re.S)


class MailchimpError(SourceError):
    """A Mailchimp call failed or answered something unusable; names endpoint, range and field."""

    source = "Mailchimp"


class _Unparsed(Exception):
    """An answer the client did not parse as the API's JSON: its status, and what came instead."""

    def __init__(self, status: int, body: str, headers=None):
        super().__init__(f"HTTP {status}")
        self.status, self.body, self.headers = status, body, headers

    @classmethod
    def of(cls, response: requests.Response) -> _Unparsed:
        return cls(response.status_code, response.text, response.headers)


def _problem_title(text: object) -> str:
    try:
        body = json.loads(text) if isinstance(text, str) else text
        title = body.get("title") or body.get("error", "")  # OAuth endpoints answer error/error_description
        return f"{title}: {body.get('detail') or body.get('error_description', '')}".strip(": ")
    except (ValueError, AttributeError):
        return str(text)[:200]


def _not_a_problem(text: object) -> str | None:
    """What came instead of a JSON problem body (``without a body``, ``with an HTML page "…"``, ...),
    or None when ``text`` is one."""
    if not isinstance(text, str) or not text.strip():
        return "without a body"
    if text.lstrip()[:1] == "<":
        title = _TITLE.search(text)
        return f'with an HTML page "{" ".join(title.group(1).split())[:80]}"' if title else "with an HTML page"
    try:
        return None if isinstance(json.loads(text), dict) else "with a body that is not a JSON object"
    except ValueError:
        return "with a body that is not JSON"


class MailchimpResource(ConfigurableResource):
    """Mailchimp Marketing API 3.0 (``PMKPI_MAILCHIMP_API_KEY`` or ``PMKPI_MAILCHIMP_ACCESS_TOKEN``,
    ``PMKPI_MAILCHIMP_BASE_URL``, ``PMKPI_MAILCHIMP_OAUTH_METADATA_URL``).

    ``access_token`` is used instead of ``api_key`` when both are given. ``max_attempts`` /
    ``base_delay_seconds`` / ``max_delay_seconds`` bound the retries of a call on 429, 5xx,
    timeouts and connection errors (401/403 fail at once); ``timeout_seconds`` is each request's
    (Mailchimp's own limit is 120 s, so keep at least that); ``settling_days`` is how long
    campaign reports keep changing after a send.
    """

    api_key: str | None = None
    access_token: str | None = None
    base_url: str | None = None
    oauth_metadata_url: str = MAILCHIMP_OAUTH_METADATA_URL
    page_size: int = 1000
    max_attempts: int = 6
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    timeout_seconds: float = 120.0
    settling_days: int = MAILCHIMP_SETTLING_DAYS
    _client: object = PrivateAttr(default=None)
    _last: threading.local = PrivateAttr(default_factory=threading.local)

    @property
    def credential(self) -> str:
        """The variable holding the credential in use (named by errors, never its value)."""
        return "PMKPI_MAILCHIMP_ACCESS_TOKEN" if self.access_token else "PMKPI_MAILCHIMP_API_KEY"

    @property
    def client(self):
        """The API client, configured once for the key's data centre or the token's (OAuth metadata)."""
        if self._client is None:
            import mailchimp_marketing

            client = mailchimp_marketing.Client()
            host = self.base_url
            if self.access_token:
                if host is None:
                    host, server = self._oauth_endpoint()
                else:
                    server = "server"
                client.set_config({"access_token": self.access_token, "server": server,
                                   "timeout": self.timeout_seconds})
            else:
                key = self.api_key or ""
                if "-" not in key or not key.rsplit("-", 1)[1]:
                    raise MailchimpError(
                        "configuration", "PMKPI_MAILCHIMP_API_KEY is malformed: a Mailchimp key ends in "
                        "'-usNN', the data centre of the account"
                    )
                client.set_config({"api_key": key, "server": key.rsplit("-", 1)[1],
                                   "timeout": self.timeout_seconds})
            if host:
                # The client replaces every "server" in host with the data centre; an explicit
                # base URL is used verbatim, so make that replacement a no-op.
                client.api_client.host = host
                client.api_client.server = "server"
            self._remember_responses(client.api_client)
            self._client = client
        return self._client

    def _oauth_endpoint(self) -> tuple[str, str]:
        """The account's API base URL and data centre, from Mailchimp's OAuth metadata endpoint."""
        endpoint = "OAuth metadata (PMKPI_MAILCHIMP_OAUTH_METADATA_URL)"

        def call() -> dict:
            response = requests.get(self.oauth_metadata_url, headers={"Authorization": f"OAuth {self.access_token}"},
                                    timeout=self.timeout_seconds)
            try:
                answer = response.json() if response.ok else None
            except ValueError:
                answer = None
            if not isinstance(answer, dict):
                raise _Unparsed.of(response)
            return answer

        metadata = self._retried(endpoint, call, None)
        dc = metadata.get("dc")
        if not isinstance(dc, str) or not dc:
            raise MailchimpError(endpoint, "the answer names no data centre", field="dc")
        api = metadata.get("api_endpoint") or f"https://{dc}.api.mailchimp.com"
        return f"{str(api).rstrip('/')}/3.0", dc

    def _remember_responses(self, api_client) -> None:
        """Keep the headers of the last response (per thread): the client's errors drop them."""
        send, last = api_client.request, self._last

        def request(*args, **kwargs):
            last.headers = None
            response = send(*args, **kwargs)
            last.headers = getattr(response, "headers", None)
            return response

        api_client.request = request

    def _classify(self, endpoint: str, partitions: str | None) -> Callable[[Exception], Exception]:
        def fail(detail: str) -> MailchimpError:
            return MailchimpError(endpoint, detail, partitions=partitions)

        credential = "access token" if self.access_token else "API key"

        def classify(exc: Exception) -> Exception:
            if isinstance(exc, MailchimpError):
                return exc
            if isinstance(exc, _Unparsed):
                status, text, headers = exc.status, exc.body, exc.headers
            else:
                status, text = getattr(exc, "status_code", None), getattr(exc, "text", exc)
                headers = getattr(self._last, "headers", None)
            retry_after = parse_retry_after(headers)
            unreachable = type(exc).__name__ == "ApiClientError" or isinstance(exc, requests.RequestException)
            if status is None and unreachable:
                return Retryable(f"connection failed or timed out ({type(text).__name__})")
            instead = _not_a_problem(text) if status is not None else None
            said = instead or _problem_title(text)
            if status == 429 or (status is not None and status >= 500):
                return Retryable(f"HTTP {status} {said}", retry_after)
            if status == 403 and instead:
                return fail(f"HTTP 403 without a problem body ({instead}): "
                            + EDGE_REFUSAL.format(credential=credential))
            if status in (401, 403):
                return fail(f"HTTP {status} {said} — check {self.credential}")
            if status is not None and 200 <= status < 300:
                return fail(f"response body is not a JSON object (malformed or cut short; HTTP {status} {instead})")
            if status is not None:
                return fail(f"HTTP {status} {said}")
            return fail(f"{type(exc).__name__}: {str(exc)[:200]}")

        return classify

    def _retried(self, endpoint: str, call: Callable[[], object], partitions: str | None):
        return call_with_retries(
            call, self._classify(endpoint, partitions),
            what=f"Mailchimp {endpoint}" + (f" for partitions {partitions}" if partitions else ""),
            max_attempts=self.max_attempts, base_delay=self.base_delay_seconds,
            max_delay=self.max_delay_seconds, log=get_dagster_logger().warning,
        )

    def get(self, endpoint: str, call: Callable[[], object], partitions: str | None = None) -> dict:
        """One API call with retries; the answer must be a JSON object (a raw response the client handed
        back instead — no body, a cut-short body — is classified by its status, never parsed as data)."""
        def checked():
            answer = call()
            if isinstance(answer, requests.Response):
                raise _Unparsed.of(answer)
            return answer

        answer = self._retried(endpoint, checked, partitions)
        if not isinstance(answer, dict):
            instead = _not_a_problem(answer) if isinstance(answer, str) else type(answer).__name__
            raise MailchimpError(endpoint, f"response body is not a JSON object ({instead})", partitions=partitions)
        return answer

    def pages(self, endpoint: str, items_key: str, fetch: Callable[..., object],
              partitions: str | None = None, key: str = "id") -> Iterator[list[dict]]:
        """Every page of a collection as it arrives (its items), paging by count/offset until ``total_items``:
        a caller that reduces each page holds one page of JSON at a time, not the whole collection.

        Fails when a page lacks ``items_key`` or ``total_items``, when the pages deliver fewer or
        more items than promised, or when an item's ``key`` repeats (a page shifted under us).
        """
        def fail(detail: str, field: str | None = None) -> MailchimpError:
            return MailchimpError(endpoint, detail, partitions=partitions, field=field)

        delivered = 0
        seen: set = set()
        total: int | None = None
        while total is None or delivered < total:
            offset = delivered
            page = self.get(endpoint, functools.partial(fetch, count=self.page_size, offset=offset), partitions)
            for name in (items_key, "total_items"):
                if name not in page:
                    raise fail("the response lacks this field", name)
            batch, page_total = page[items_key], page["total_items"]
            if not isinstance(batch, list) or not all(isinstance(item, dict) for item in batch):
                raise fail(f"expected a list of objects, got {type(batch).__name__}", items_key)
            if not isinstance(page_total, int) or isinstance(page_total, bool):
                raise fail(f"expected an integer, got {page_total!r}", "total_items")
            total = page_total if total is None else total
            if not batch and delivered < total:
                raise fail(f"promised total_items={total} but delivered {delivered} (empty page at "
                           f"offset {offset})", items_key)
            for item in batch:
                if item.get(key) in seen:
                    raise fail(f"item {item.get(key)!r} appears twice", f"{items_key}.{key}")
                seen.add(item.get(key))
            delivered += len(batch)
            if delivered > total:
                raise fail(f"promised total_items={total}, got {delivered}", items_key)
            yield batch

    def paged(self, endpoint: str, items_key: str, fetch: Callable[..., object],
              partitions: str | None = None, key: str = "id") -> list[dict]:
        """Every item of a collection: the items of :meth:`pages`, in order."""
        return [item for batch in self.pages(endpoint, items_key, fetch, partitions, key) for item in batch]

    def ping(self) -> None:
        """Fail fast with a clear message when the credentials or the base URL are wrong (``/ping`` has one
        field: the client takes no ``fields`` for it)."""
        self.get("/ping", self.client.ping.get)
