"""The 61968-100 envelope: pure data and XML, no I/O. Every other package imports this one."""
from . import codes, namespaces, soap, verbs
from .envelope import (HEADER_FIELDS, ID, KINDS, Error, EventMessage, FaultMessage, Header, Location, Message, Payload,
                       ReplayDetection, Reply, Request, RequestMessage, ResponseMessage, User, format_time,
                       kind_of, new_message_id, now, parse, parse_time, to_bytes, to_element)
from .errors import MessageError
from .replies import acknowledgement, correlation_for, event_for_request, failed, ok, reply_header, reply_to
from .xml import parse_bytes

__all__ = [
    "codes", "namespaces", "soap", "verbs", "HEADER_FIELDS", "ID", "KINDS", "Error", "EventMessage", "FaultMessage", "Header",
    "Location", "Message", "Payload", "ReplayDetection", "Reply", "Request", "RequestMessage",
    "ResponseMessage", "User", "format_time", "kind_of", "new_message_id", "now", "parse", "parse_time",
    "to_bytes", "to_element", "MessageError", "acknowledgement", "correlation_for", "event_for_request",
    "failed", "ok", "reply_header", "reply_to", "parse_bytes",
]
