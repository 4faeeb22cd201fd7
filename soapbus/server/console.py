"""The operator console at /console/: the journal, the outbox, subscriptions and routes, conformance reports.

Server-rendered with Jinja2 (autoescaped, no JavaScript); every page and action runs in the thread
pool, since each reads or writes the store.

Who may use it: callers on the loopback interface; others only when the server was started with
`--console-token TOKEN` and they present it (the login form sets it as an HttpOnly, SameSite=Strict
cookie; programs may send `Authorization: Bearer TOKEN`). Without a token everyone else gets 403.
A proxy on the same machine makes every caller local: give such a deployment a token and keep
the console's path off the proxy.

Every action is a POST form carrying a CSRF token: the HMAC, under a secret made at start-up, of
a random cookie the console sets (SameSite=Strict). A page of another site can neither read the
cookie nor the token, so it cannot make the operator's browser act. Pages are sent with a
Content-Security-Policy that allows no script at all.
"""
from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

from twisted.internet.threads import deferToThreadPool
from twisted.web import resource
from twisted.web.server import NOT_DONE_YET

from ..store import DuplicateRoute, DuplicateSubscription, StoreUnavailable
from . import console_views as views
from .discovery import templates
from .outage import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

TOKEN_COOKIE = b"soapbus_console"
CSRF_COOKIE = b"soapbus_csrf"
PAGE_POLICY = b"default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'"
REPORT_POLICY = b"default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"


@dataclass(frozen=True)
class ConsoleSettings:
    token: str | None = None  # others than loopback callers may use the console with it
    reports_dir: Path | None = None  # conformance report folders listed at /console/reports


@dataclass
class Answer:
    """What a console request gets: a page, a redirect after a POST, or a file."""

    status: int = 200
    body: bytes = b""
    content_type: bytes = b"text/html; charset=utf-8"
    location: str | None = None
    policy: bytes = PAGE_POLICY
    headers: dict = field(default_factory=dict)


class ConsoleResource(resource.Resource):
    isLeaf = True

    def __init__(self, reactor, threadpool, store, settings: ConsoleSettings):
        super().__init__()
        self.reactor, self.threadpool, self.store, self.settings = reactor, threadpool, store, settings
        self._secret = secrets.token_bytes(32)  # CSRF tokens die with the process: a restart asks for a reload

    # ------------------------------------------------------------ access

    def _allowed(self, request) -> bool:
        try:
            if ipaddress.ip_address(request.getClientAddress().host).is_loopback:
                return True
        except (ValueError, AttributeError):
            pass
        token = self.settings.token
        if not token:
            return False
        presented = request.getCookie(TOKEN_COOKIE) or b""
        authorization = request.getHeader(b"authorization") or b""
        if authorization.lower().startswith(b"bearer "):
            presented = authorization[7:].strip()
        return hmac.compare_digest(presented, token.encode("utf-8"))

    def _csrf_for(self, cookie: bytes) -> str:
        return hmac.new(self._secret, cookie, hashlib.sha256).hexdigest()

    def _csrf_ok(self, request, form: dict[str, str]) -> bool:
        cookie = request.getCookie(CSRF_COOKIE)
        return bool(cookie) and hmac.compare_digest(self._csrf_for(cookie), form.get("csrf", ""))

    # ------------------------------------------------------------ dispatch

    def render(self, request):
        path = [p.decode("utf-8", "replace") for p in request.postpath if p]
        method = request.method.decode("ascii", "replace")
        args = {k.decode("utf-8", "replace"): v[-1].decode("utf-8", "replace") for k, v in request.args.items() if v}
        if path == ["console.css"]:
            css = templates().get_template("console.css.j2").render().encode("utf-8")
            return self._send(request, Answer(body=css, content_type=b"text/css; charset=utf-8"))
        if path == ["login"]:
            return self._login(request, method, args)
        if not self._allowed(request):
            return self._send(request, self._page("console_denied.html.j2", status=403, request=request,
                                                  token_configured=bool(self.settings.token)))
        if method == "POST" and not self._csrf_ok(request, args):
            return self._send(request, self._page("console_error.html.j2", status=403, request=request,
                                                  error="the form's CSRF token is missing or stale: reload the page "
                                                        "and send it again"))
        csrf = self._csrf_cookie(request)
        work = self._route(method, path, args)
        if work is None:
            return self._send(request, self._page("console_error.html.j2", status=404 if method == "GET" else 405,
                                                  request=request, error=f"nothing at /console/{'/'.join(path)}"))
        finished = []
        request.notifyFinish().addBoth(finished.append)

        def done(answer: Answer):
            if not finished:
                self._send(request, answer)

        def failed(failure):
            if finished:
                return
            if failure.check(StoreUnavailable):
                answer = self._page("console_error.html.j2", status=503, csrf=csrf,
                                    error=f"the database is not available: {failure.value.reason}")
                answer.headers[b"retry-after"] = str(RETRY_AFTER_SECONDS).encode("ascii")
            else:
                log.error("console request failed: %s", failure.getTraceback())
                answer = self._page("console_error.html.j2", status=500, csrf=csrf,
                                    error="internal error; see the server log")
            self._send(request, answer)

        deferToThreadPool(self.reactor, self.threadpool, work, csrf).addCallbacks(done, failed)
        return NOT_DONE_YET

    def _route(self, method: str, path: list[str], args: dict[str, str]):
        """The work for this request (run in the pool with the CSRF token), or None when there is none."""
        get = {
            (): lambda csrf: self._overview(csrf, args),
            ("journal",): lambda csrf: self._journal(csrf, args),
            ("outbox",): lambda csrf: self._outbox(csrf, args),
            ("subscriptions",): lambda csrf: self._subscriptions(csrf, args),
            ("routes",): lambda csrf: self._routes(csrf, args),
            ("reports",): lambda csrf: self._reports(csrf, args),
        }
        post = {
            ("outbox", "replay"): self._replay, ("outbox", "purge"): self._purge,
            ("subscriptions", "add"): self._add_subscription, ("subscriptions", "remove"): self._remove_subscription,
            ("routes", "add"): self._add_route, ("routes", "remove"): self._remove_route,
        }
        key = tuple(path)
        if method in ("GET", "HEAD"):
            if len(path) == 2 and path[0] == "journal" and path[1].isdigit():
                return lambda csrf: self._conversation(csrf, int(path[1]), args)
            if len(path) == 3 and path[0] == "reports":
                return lambda csrf: self._report_file(path[1], path[2])
            return get.get(key)
        if method == "POST" and key in post:
            action = post[key]
            return lambda csrf: self._act(action, args, key[0])
        return None

    # ------------------------------------------------------------ pages (in the pool)

    def _overview(self, csrf, args):
        recent = self.store.journal_search(views.JournalQuery(limit=10))
        return self._page("console_overview.html.j2", csrf=csrf, args=args, recent=recent,
                          counts=self.store.outbox_counts(), oldest=self.store.outbox_oldest_pending(),
                          subscriptions=len(self.store.subscription_list()), routes=len(self.store.route_list()),
                          reports=views.reports(self.settings.reports_dir)[:5])

    def _journal(self, csrf, args):
        try:
            query = views.journal_query(args)
        except views.FormError as exc:
            return self._page("console_journal.html.j2", status=400, csrf=csrf, args=args, error=str(exc),
                              entries=[], outcomes=views.OUTCOMES)
        return self._page("console_journal.html.j2", csrf=csrf, args=args, error=None,
                          entries=self.store.journal_search(query), outcomes=views.OUTCOMES)

    def _conversation(self, csrf, entry_id: int, args):
        entries = self.store.journal_related(entry_id)
        if not any(e.id == entry_id for e in entries):
            return self._page("console_error.html.j2", status=404, csrf=csrf, error=f"no journal entry {entry_id}")
        return self._page("console_entry.html.j2", csrf=csrf, args=args, entry_id=entry_id,
                          messages=[views.shown(e) for e in entries])

    def _outbox(self, csrf, args):
        try:
            values = views.outbox_view(self.store, args.get("status", "pending"))
        except views.FormError as exc:
            return self._page("console_error.html.j2", status=400, csrf=csrf, error=str(exc))
        return self._page("console_outbox.html.j2", csrf=csrf, args=args, **values)

    def _subscriptions(self, csrf, args):
        return self._page("console_subscriptions.html.j2", csrf=csrf, args=args,
                          subscriptions=self.store.subscription_list())

    def _routes(self, csrf, args):
        return self._page("console_routes.html.j2", csrf=csrf, args=args, routes=self.store.route_list())

    def _reports(self, csrf, args):
        return self._page("console_reports.html.j2", csrf=csrf, args=args,
                          reports=views.reports(self.settings.reports_dir), folder=self.settings.reports_dir)

    def _report_file(self, name: str, file_name: str) -> Answer:
        path = views.report_file(self.settings.reports_dir, name, file_name)
        if path is None:
            return self._page("console_error.html.j2", status=404, error=f"no report file {name}/{file_name}")
        kind = b"text/html; charset=utf-8" if file_name.endswith(".html") else b"text/xml; charset=utf-8"
        return Answer(body=path.read_bytes(), content_type=kind, policy=REPORT_POLICY)

    # ------------------------------------------------------------ actions (POST, in the pool)

    def _act(self, action, form: dict[str, str], page: str) -> Answer:
        """Run an action; back to its page with what happened (or why not) to show."""
        back = form.get("back", "")
        target = back if back.startswith(f"/console/{page}") else f"/console/{page}"
        try:
            done = action(form)
            outcome = {"done": done}
        except views.FormError as exc:
            outcome = {"error": str(exc)}
        except (DuplicateSubscription, DuplicateRoute):
            outcome = {"error": f"that {page[:-1]} exists already"}
        except ValueError as exc:  # the store's own checks (a route without a noun, ...)
            outcome = {"error": str(exc)}
        joiner = "&" if "?" in target else "?"
        return Answer(status=303, location=f"{target}{joiner}{urlencode(outcome)}")

    def _replay(self, form) -> str:
        return self._on_dead_letters(form, self.store.dead_letter_replay_to, self.store.dead_letter_replay,
                                     "queued again")

    def _purge(self, form) -> str:
        return self._on_dead_letters(form, self.store.dead_letter_purge, self.store.dead_letter_purge, "deleted")

    @staticmethod
    def _on_dead_letters(form, on_all, on_one, done: str) -> str:
        """One dead letter named by the form's id, or all of them with all=1."""
        if form.get("all") == "1":
            return f"{on_all(None)} dead letter(s) {done}"
        item_id = views.id_field(form)
        if not on_one(item_id):
            raise views.FormError(f"outbox message {item_id} is not a dead letter")
        return f"dead letter {item_id} {done}"

    def _add_subscription(self, form) -> str:
        sub = self.store.subscription_add(views.endpoint_field(form, broker_ok=True), noun=views.optional(form, "noun"),
                                          verb=views.optional(form, "verb"), context=views.optional(form, "context"),
                                          signed=form.get("signed") == "1", style=views.style_field(form))
        return f"subscription {sub.id} added: {sub.endpoint}"

    def _remove_subscription(self, form) -> str:
        sub_id = views.id_field(form)
        if not self.store.subscription_remove(sub_id):
            raise views.FormError(f"no subscription {sub_id}")
        return f"subscription {sub_id} removed"

    def _add_route(self, form) -> str:
        noun = views.optional(form, "noun")
        if noun is None:
            raise views.FormError("a route needs a noun")
        route = self.store.route_add(noun, views.endpoint_field(form, broker_ok=True), verb=views.optional(form, "verb"),
                                     context=views.optional(form, "context"), signed=form.get("signed") == "1",
                                     style=views.style_field(form))
        return f"route {route.id} added: {route.noun} to {route.endpoint}"

    def _remove_route(self, form) -> str:
        route_id = views.id_field(form)
        if not self.store.route_remove(route_id):
            raise views.FormError(f"no route {route_id}")
        return f"route {route_id} removed"

    # ------------------------------------------------------------ login

    def _login(self, request, method: str, args: dict[str, str]):
        if method == "POST" and self.settings.token and \
                hmac.compare_digest(args.get("token", "").encode("utf-8"), self.settings.token.encode("utf-8")):
            request.addCookie(TOKEN_COOKIE, self.settings.token.encode("utf-8"), path=b"/console/", httpOnly=True,
                              sameSite="strict", secure=request.isSecure())
            return self._send(request, Answer(status=303, location="/console/"))
        status = 403 if method == "POST" else 200
        return self._send(request, self._page("console_login.html.j2", status=status, request=request,
                                              failed=method == "POST", token_configured=bool(self.settings.token)))

    # ------------------------------------------------------------ plumbing

    def _csrf_cookie(self, request) -> str:
        cookie = request.getCookie(CSRF_COOKIE)
        if not cookie:
            cookie = secrets.token_urlsafe(24).encode("ascii")
            request.addCookie(CSRF_COOKIE, cookie, path=b"/console/", httpOnly=True, sameSite="strict",
                              secure=request.isSecure())
        return self._csrf_for(cookie)

    def _page(self, template: str, status: int = 200, request=None, csrf: str = "", **values) -> Answer:
        args = values.pop("args", {})
        body = templates().get_template(template).render(csrf=csrf, args=args, done=args.get("done"),
                                                         failed_action=args.get("error"), quote=quote, **values)
        return Answer(status=status, body=body.encode("utf-8"))

    def _send(self, request, answer: Answer):
        request.setResponseCode(answer.status)
        request.setHeader(b"cache-control", b"no-store")
        request.setHeader(b"x-content-type-options", b"nosniff")
        request.setHeader(b"x-frame-options", b"DENY")
        request.setHeader(b"referrer-policy", b"no-referrer")
        request.setHeader(b"content-security-policy", answer.policy)
        for name, value in answer.headers.items():
            request.setHeader(name, value)
        if answer.location is not None:
            request.setHeader(b"location", answer.location.encode("utf-8"))
            request.setHeader(b"content-type", b"text/plain; charset=utf-8")
            body = b""
        else:
            request.setHeader(b"content-type", answer.content_type)
            body = answer.body
        if request.method == b"HEAD":
            body = b""
        request.write(body)
        request.finish()
        return NOT_DONE_YET


__all__ = ["ConsoleResource", "ConsoleSettings"]
