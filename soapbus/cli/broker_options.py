"""`serve`'s options for the shared request queue of --broker (server/broker_requests.py)."""
from __future__ import annotations

import click

from ..server.config import BrokerRequests

_DEFAULTS = BrokerRequests()
_KEYS = ("broker_requests", "broker_request_exchange", "broker_request_topics", "broker_prefetch")


def broker_request_options(fn):
    for option in reversed([
        click.option("--broker-requests", default=_DEFAULTS.queue, show_default=True, metavar="QUEUE",
                     help="With --broker, take 61968 requests (SOAP envelopes, answered to the message's reply_to) "
                          "from this durable queue, shared by every node; 'off': take none from the broker."),
        click.option("--broker-request-exchange", default=_DEFAULTS.exchange, show_default=True, metavar="EXCHANGE",
                     help="The topic exchange whose request topics are bound to --broker-requests "
                          "(amq.topic where JMS clients publish topics)."),
        click.option("--broker-request-topic", "broker_request_topics", multiple=True, metavar="PATTERN",
                     help="A topic of the exchange bound to --broker-requests (repeatable; default "
                          f"{', '.join(_DEFAULTS.topics)}, the 61968-100 <Context>.REQUESTS.<Noun>.<verb>; "
                          "'' binds none)."),
        click.option("--broker-prefetch", default=_DEFAULTS.prefetch, show_default=True, type=click.IntRange(1, 1000),
                     help="Queued requests a node holds unacknowledged at once."),
    ]):
        fn = option(fn)
    return fn


def take_broker_requests(options: dict, broker_url: str | None) -> BrokerRequests | None:
    """Pop the request queue's options out of `serve`'s keyword arguments; None when no requests are taken."""
    given = {key: options.pop(key) for key in _KEYS}
    queue = given["broker_requests"].strip()
    if not queue:
        raise click.BadParameter("give a queue name, or 'off'", param_hint="--broker-requests")
    if queue == "off" or not broker_url:
        return None
    topics = tuple(t for t in given["broker_request_topics"] if t.strip()) if given["broker_request_topics"] \
        else _DEFAULTS.topics
    return BrokerRequests(queue=queue, exchange=given["broker_request_exchange"], topics=topics,
                          prefetch=given["broker_prefetch"])


__all__ = ["broker_request_options", "take_broker_requests"]
