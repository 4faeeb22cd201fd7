"""The bus: guaranteed delivery through the outbox, publish/subscribe, routing, event/action rules."""
from . import envelopes, fanout
from .answers import Verdict, classify
from .delivery import DeliveryEngine
from .policy import RetryPolicy

__all__ = ["envelopes", "fanout", "DeliveryEngine", "RetryPolicy", "Verdict", "classify"]
