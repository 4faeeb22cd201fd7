"""The bus: guaranteed delivery through the outbox, publish/subscribe, routing, event/action rules."""
from . import envelopes, fanout
from .delivery import Attempt, DeliveryWorker, RetryPolicy, classify

__all__ = ["envelopes", "fanout", "DeliveryWorker", "RetryPolicy", "Attempt", "classify"]
