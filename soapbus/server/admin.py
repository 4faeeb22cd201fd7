"""A small admin API for subscriptions, answered only to clients on this machine.

    GET    /admin/subscriptions          -> [{"id":..,"endpoint":..,"noun":..,"verb":..,"context":..,"signed":..,"style":..}]
    POST   /admin/subscriptions          {"endpoint": "http://...", "noun": "MeterReadings", "verb": "created", ...} -> 201
    DELETE /admin/subscriptions/<id>     -> 204
    GET    /admin/outbox                 -> {"pending": n, "delivered": n, "dead": n}

Database work runs in the thread pool, like everything else that touches the store.
"""
from __future__ import annotations

import ipaddress
import json
import logging
from dataclasses import asdict

from twisted.internet.threads import deferToThreadPool
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET

from ..store import StoreUnavailable
from .outage import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

STYLES = ("generic", "typed")


class AdminError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _json(request, status: int, body) -> None:
    request.setResponseCode(status)
    if status != 204:  # No Content carries no body
        request.setHeader(b"content-type", b"application/json")
        request.write(json.dumps(body, default=str).encode("utf-8"))
    request.finish()


def _local(request) -> bool:
    try:
        return ipaddress.ip_address(request.getClientAddress().host).is_loopback
    except (ValueError, AttributeError):
        return False


class _PoolResource(resource.Resource):
    """Runs `work(request_data)` in the pool and answers its (status, body) as JSON."""

    isLeaf = True

    def __init__(self, reactor, threadpool, store):
        super().__init__()
        self.reactor, self.threadpool, self.store = reactor, threadpool, store

    def render(self, request):
        if not _local(request):
            request.setResponseCode(403)
            return b"the admin API answers only on this machine\n"
        return super().render(request)

    def _answer(self, request, work, *args):
        finished = []
        request.notifyFinish().addBoth(finished.append)

        def ok(result):
            if not finished:
                _json(request, *result)

        def failed(failure):
            if finished:
                return
            if failure.check(AdminError):
                _json(request, failure.value.status, {"error": str(failure.value)})
            elif failure.check(StoreUnavailable):  # logged once by the store, not per request
                request.setHeader(b"retry-after", str(RETRY_AFTER_SECONDS).encode("ascii"))
                _json(request, 503, {"error": f"the database is not available: {failure.value.reason}"})
            else:
                log.error("admin request failed: %s", failure.getTraceback())
                _json(request, 500, {"error": "internal error; see the server log"})

        deferToThreadPool(self.reactor, self.threadpool, work, *args).addCallbacks(ok, failed)
        return NOT_DONE_YET


class Subscriptions(_PoolResource):
    def render_GET(self, request):
        return self._answer(request, lambda: (200, [asdict(s) for s in self.store.subscription_list()]))

    def render_POST(self, request):
        return self._answer(request, self._add, request.content.read())

    def render_DELETE(self, request):
        return self._answer(request, self._remove, request.postpath)

    def _add(self, raw: bytes):
        from ..store import DuplicateSubscription

        try:
            data = json.loads(raw or b"{}")
        except ValueError as exc:
            raise AdminError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise AdminError(400, "the body must be a JSON object")
        endpoint = data.get("endpoint")
        if not isinstance(endpoint, str) or not endpoint.startswith(("http://", "https://")):
            raise AdminError(400, "endpoint must be an http(s) URL")
        unknown = set(data) - {"endpoint", "noun", "verb", "context", "signed", "style"}
        if unknown:
            raise AdminError(400, f"unknown fields: {', '.join(sorted(unknown))}")
        style = data.get("style", "generic")
        if style not in STYLES:
            raise AdminError(400, f"style must be one of {STYLES}")
        try:
            sub = self.store.subscription_add(endpoint, noun=data.get("noun"), verb=data.get("verb"),
                                              context=data.get("context"), signed=bool(data.get("signed", False)),
                                              style=style)
        except DuplicateSubscription:
            raise AdminError(409, "that subscription exists already") from None
        return 201, asdict(sub)

    def _remove(self, postpath):
        try:
            sub_id = int(postpath[0])
        except (IndexError, ValueError):
            raise AdminError(400, "DELETE /admin/subscriptions/<id>") from None
        if not self.store.subscription_remove(sub_id):
            raise AdminError(404, f"no subscription {sub_id}")
        return 204, None


class Outbox(_PoolResource):
    def render_GET(self, request):
        return self._answer(request, lambda: (200, self.store.outbox_counts()))


def admin_resource(reactor, threadpool, store) -> resource.Resource:
    root = resource.Resource()
    root.putChild(b"subscriptions", Subscriptions(reactor, threadpool, store))
    root.putChild(b"outbox", Outbox(reactor, threadpool, store))
    return root
