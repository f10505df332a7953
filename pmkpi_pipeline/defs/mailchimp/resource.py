"""The Mailchimp Marketing API resource: the official ``mailchimp-marketing`` client, paged and retried.

The client has no retries, returns ``application/problem+json`` error bodies as raw strings and
drops the response headers of an error; this resource adds retries (reading ``Retry-After``
from the last response it saw), pages every collection by count/offset until ``total_items``,
and checks that the pages add up without repeating an item.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable

from dagster import ConfigurableResource, get_dagster_logger
from pydantic import PrivateAttr

from ...lib.retry import Retryable, SourceError, call_with_retries, parse_retry_after
from ...lib.settings import MAILCHIMP_SETTLING_DAYS


class MailchimpError(SourceError):
    """A Mailchimp call failed or answered something unusable; names endpoint, range and field."""

    source = "Mailchimp"


def _problem_title(text: object) -> str:
    try:
        body = json.loads(text) if isinstance(text, str) else text
        return f"{body.get('title', '')}: {body.get('detail', '')}".strip(": ")
    except (ValueError, AttributeError):
        return str(text)[:200]


class MailchimpResource(ConfigurableResource):
    """Mailchimp Marketing API 3.0 (``PMKPI_MAILCHIMP_API_KEY``, ``PMKPI_MAILCHIMP_BASE_URL``).

    ``max_attempts`` / ``base_delay_seconds`` / ``max_delay_seconds`` bound the retries of a
    call on 429, 5xx, timeouts and connection errors (401/403 fail at once);
    ``settling_days`` is how long campaign reports keep changing after a send.
    """

    api_key: str
    base_url: str | None = None
    page_size: int = 1000
    max_attempts: int = 6
    base_delay_seconds: float = 1.0
    max_delay_seconds: float = 60.0
    timeout_seconds: float = 60.0
    settling_days: int = MAILCHIMP_SETTLING_DAYS
    _client: object = PrivateAttr(default=None)
    _last: threading.local = PrivateAttr(default_factory=threading.local)

    @property
    def client(self):
        """The API client, configured once: the key's ``-usNN`` suffix names the data centre."""
        if self._client is None:
            import mailchimp_marketing

            key = self.api_key
            if "-" not in key or not key.rsplit("-", 1)[1]:
                raise MailchimpError(
                    "configuration", "PMKPI_MAILCHIMP_API_KEY is malformed: a Mailchimp key ends in "
                    "'-usNN', the data centre of the account"
                )
            client = mailchimp_marketing.Client()
            client.set_config({"api_key": key, "server": key.rsplit("-", 1)[1],
                               "timeout": self.timeout_seconds})
            if self.base_url:
                # The client replaces every "server" in host with the data centre; an explicit
                # base URL is used verbatim, so make that replacement a no-op.
                client.api_client.host = self.base_url
                client.api_client.server = "server"
            self._remember_responses(client.api_client)
            self._client = client
        return self._client

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

        def classify(exc: Exception) -> Exception:
            status = getattr(exc, "status_code", None)
            text = getattr(exc, "text", exc)
            retry_after = parse_retry_after(getattr(self._last, "headers", None))
            if status is None and type(exc).__name__ == "ApiClientError":
                return Retryable(f"connection failed or timed out ({type(text).__name__})")
            if status == 429 or (status is not None and status >= 500):
                return Retryable(f"HTTP {status} {_problem_title(text)}", retry_after)
            if status in (401, 403):
                return fail(f"HTTP {status} {_problem_title(text)} — check PMKPI_MAILCHIMP_API_KEY")
            if status is not None:
                return fail(f"HTTP {status} {_problem_title(text)}")
            if isinstance(exc, MailchimpError):
                return exc
            return fail(f"{type(exc).__name__}: {str(exc)[:200]}")

        return classify

    def get(self, endpoint: str, call: Callable[[], object], partitions: str | None = None) -> dict:
        """One API call with retries; the answer must be a JSON object."""
        answer = call_with_retries(
            call, self._classify(endpoint, partitions),
            what=f"Mailchimp {endpoint}" + (f" for partitions {partitions}" if partitions else ""),
            max_attempts=self.max_attempts, base_delay=self.base_delay_seconds,
            max_delay=self.max_delay_seconds, log=get_dagster_logger().warning,
        )
        if not isinstance(answer, dict):
            raise MailchimpError(endpoint, "response body is not a JSON object (malformed or cut short)",
                                 partitions=partitions)
        return answer

    def paged(self, endpoint: str, items_key: str, fetch: Callable[..., object],
              partitions: str | None = None, key: str = "id") -> list[dict]:
        """Every item of a collection, paging by count/offset until ``total_items``.

        Fails when a page lacks ``items_key`` or ``total_items``, when the pages deliver fewer or
        more items than promised, or when an item's ``key`` repeats (a page shifted under us).
        """
        def fail(detail: str, field: str | None = None) -> MailchimpError:
            return MailchimpError(endpoint, detail, partitions=partitions, field=field)

        items: list[dict] = []
        seen: set = set()
        total: int | None = None
        while total is None or len(items) < total:
            offset = len(items)
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
            if not batch and len(items) < total:
                raise fail(f"promised total_items={total} but delivered {len(items)} (empty page at "
                           f"offset {offset})", items_key)
            for item in batch:
                if item.get(key) in seen:
                    raise fail(f"item {item.get(key)!r} appears twice", f"{items_key}.{key}")
                seen.add(item.get(key))
            items.extend(batch)
        if len(items) != total:
            raise fail(f"promised total_items={total}, got {len(items)}", items_key)
        return items

    def ping(self) -> None:
        """Fail fast with a clear message when the key or the base URL is wrong."""
        self.get("/ping", self.client.ping.get)
