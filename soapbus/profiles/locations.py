"""Where the checked-in schemas and WSDLs live, in a wheel and in a checkout.

The repository keeps them once, as `xsd/` and `wsdl/` at its root. They sit beside each other
because the server publishes them as they are, at /xsd/<file> and /wsdl/<Service>.wsdl, and the
WSDLs import the schemas by the relative location `../xsd/<file>`, which resolves both on disk
and over HTTP. A wheel carries the two folders inside the package, as `soapbus/published/xsd`
and `soapbus/published/wsdl` (setup.py maps them there at build time), so the same relative
location holds; in a checkout (and its editable install) they are read where they are kept.
"""
from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

PUBLISHED = "published"  # the package folder a wheel carries xsd/ and wsdl/ in


class PublishedFilesMissing(RuntimeError):
    """Neither the installed package nor a checkout holds the schemas or WSDLs."""


def xsd_dir() -> Path:
    return _published_dir("xsd")


def wsdl_dir() -> Path:
    return _published_dir("wsdl")


@cache
def _published_dir(folder: str) -> Path:
    package = resources.files("soapbus")
    installed = package / PUBLISHED / folder
    if installed.is_dir():  # a wheel: package data, a real folder on disk once pip unpacked it
        return Path(str(installed))
    checkout = Path(str(package)).parent / folder
    if checkout.is_dir():
        return checkout
    raise PublishedFilesMissing(
        f"soapbus's {folder}/ folder is missing: neither {installed} (an installed wheel) nor {checkout} "
        "(a source checkout) exists; reinstall soapbus from a wheel built with `python -m build --wheel`")
