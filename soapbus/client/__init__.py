"""The client SDK: call any 61968-100 endpoint from Python (zeep underneath)."""
from .callbacks import AsyncResult, CallbackListener
from .client import Client, Result, Target
from .data import to_data
from .tls import ClientTls, InsecureTls, TlsSetupError
from .discovery import Discovery, Operation, WsdlDiscovery, discover
from .errors import (DiscoveryError, FailedReply, NotOffered, SecurityError, SoapbusClientError, SoapFaultError,
                     TransportError, UnverifiedAnswer)

__all__ = ["AsyncResult", "CallbackListener", "Client", "Result", "Target", "to_data", "Discovery", "Operation",
           "WsdlDiscovery", "discover", "DiscoveryError", "FailedReply", "NotOffered", "SecurityError",
           "SoapbusClientError", "SoapFaultError", "TransportError", "UnverifiedAnswer"]
__all__ += ["ClientTls", "InsecureTls", "TlsSetupError"]
