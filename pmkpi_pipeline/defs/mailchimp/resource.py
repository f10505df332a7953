"""The Mailchimp Marketing API resource: the official ``mailchimp-marketing`` client, paged and retried.

The client has no retries and returns ``application/problem+json`` error bodies as raw
strings; this resource adds both, pages every collection by count/offset until
``total_items``, and checks that the pages add up.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from dagster import ConfigurableResource, get_dagster_logger
from pydantic import PrivateAttr

from ...retry import Retryable, call_with_retries


class MailchimpError(RuntimeError):
    """A Mailchimp call failed or answered something unusable; the message names the endpoint."""


def _problem_title(text: object) -> str:
    try:
        body = json.loads(text) if isinstance(text, str) else text
        return f"{body.get('title', '')}: {body.get('detail', '')}".strip(": ")
    except (ValueError, AttributeError):
        return str(text)[:200]


class MailchimpResource(ConfigurableResource):
    """Mailchimp Marketing API 3.0 (``PMKPI_MAILCHIMP_API_KEY``, ``PMKPI_MAILCHIMP_BASE_URL``)."""

    api_key: str
    base_url: str | None = None
    page_size: int = 1000
    max_attempts: int = 6
    base_delay_seconds: float = 1.0
    timeout_seconds: float = 60.0
    _client: object = PrivateAttr(default=None)

    @property
    def client(self):
        """The API client, configured once: the key's ``-usNN`` suffix names the data centre."""
        if self._client is None:
            import mailchimp_marketing

            key = self.api_key
            if "-" not in key or not key.rsplit("-", 1)[1]:
                raise MailchimpError(
                    "PMKPI_MAILCHIMP_API_KEY is malformed: a Mailchimp key ends in '-usNN', the "
                    "data centre of the account"
                )
            client = mailchimp_marketing.Client()
            client.set_config({"api_key": key, "server": key.rsplit("-", 1)[1],
                               "timeout": self.timeout_seconds})
            if self.base_url:
                # The client replaces every "server" in host with the data centre; an explicit
                # base URL is used verbatim, so make that replacement a no-op.
                client.api_client.host = self.base_url
                client.api_client.server = "server"
            self._client = client
        return self._client

    def _classify(self, endpoint: str) -> Callable[[Exception], Exception]:
        def classify(exc: Exception) -> Exception:
            status = getattr(exc, "status_code", None)
            text = getattr(exc, "text", exc)
            if status is None and type(exc).__name__ == "ApiClientError":
                return Retryable(f"Mailchimp {endpoint}: connection failed ({type(text).__name__})")
            if status == 429:
                return Retryable(f"Mailchimp {endpoint}: HTTP 429 {_problem_title(text)}")
            if status is not None and status >= 500:
                return Retryable(f"Mailchimp {endpoint}: HTTP {status} {_problem_title(text)}")
            if status in (401, 403):
                return MailchimpError(
                    f"Mailchimp {endpoint}: HTTP {status} {_problem_title(text)} — check "
                    "PMKPI_MAILCHIMP_API_KEY"
                )
            if status is not None:
                return MailchimpError(f"Mailchimp {endpoint}: HTTP {status} {_problem_title(text)}")
            if isinstance(exc, MailchimpError):
                return exc
            return MailchimpError(f"Mailchimp {endpoint}: {type(exc).__name__}: {exc}")

        return classify

    def get(self, endpoint: str, call: Callable[[], object]) -> dict:
        """One API call with retries; the answer must be a JSON object."""
        answer = call_with_retries(
            call, self._classify(endpoint), what=f"Mailchimp {endpoint}",
            max_attempts=self.max_attempts, base_delay=self.base_delay_seconds,
            log=get_dagster_logger().warning,
        )
        if not isinstance(answer, dict):
            raise MailchimpError(f"Mailchimp {endpoint}: response is not a JSON object (malformed body)")
        return answer

    def paged(self, endpoint: str, items_key: str, fetch: Callable[..., object]) -> list[dict]:
        """Every item of a collection, paging by count/offset until ``total_items``."""
        items: list[dict] = []
        total: int | None = None
        while total is None or len(items) < total:
            offset = len(items)
            page = self.get(endpoint, lambda: fetch(count=self.page_size, offset=offset))
            if items_key not in page or "total_items" not in page:
                raise MailchimpError(
                    f"Mailchimp {endpoint}: response lacks field "
                    f"{items_key if items_key not in page else 'total_items'}"
                )
            batch, page_total = page[items_key], page["total_items"]
            if not isinstance(batch, list) or not isinstance(page_total, int):
                raise MailchimpError(f"Mailchimp {endpoint}: field {items_key} or total_items has the wrong type")
            total = page_total if total is None else total
            if not batch:
                raise MailchimpError(
                    f"Mailchimp {endpoint}: promised total_items={total} but delivered {len(items)}"
                )
            items.extend(batch)
        if len(items) != total:
            raise MailchimpError(f"Mailchimp {endpoint}: promised total_items={total}, got {len(items)}")
        return items

    def ping(self) -> None:
        """Fail fast with a clear message when the key or the base URL is wrong."""
        self.get("/ping", self.client.ping.get)
