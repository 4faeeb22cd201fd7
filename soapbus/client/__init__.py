"""The client SDK: call any 61968-100 endpoint from Python (zeep underneath)."""
from .callbacks import AsyncResult, CallbackListener
from .client import Client, Result, Target
from .data import to_data
from .errors import FailedReply, NotOffered, SecurityError, SoapbusClientError, SoapFaultError, TransportError

__all__ = ["AsyncResult", "CallbackListener", "Client", "Result", "Target", "to_data", "FailedReply", "NotOffered", "SecurityError", "SoapbusClientError",
           "SoapFaultError", "TransportError"]
