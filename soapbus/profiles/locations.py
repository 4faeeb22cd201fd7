"""Where the checked-in schemas and WSDLs live: `xsd/` and `wsdl/` at the repository root.

They sit beside the package rather than inside it because the server publishes them as they
are, at /xsd/<file> and /wsdl/<Service>.wsdl, and the WSDLs import the schemas by the
relative location `../xsd/<file>`, which resolves both on disk and over HTTP.
"""
from __future__ import annotations

from pathlib import Path

import soapbus

_ROOT = Path(soapbus.__file__).resolve().parent.parent


def xsd_dir() -> Path:
    return _ROOT / "xsd"


def wsdl_dir() -> Path:
    return _ROOT / "wsdl"
