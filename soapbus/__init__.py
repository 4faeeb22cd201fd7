"""soapbus: IEC 61968-100 integration over SOAP."""
# The one place the version is kept: setup.cfg reads it, `soapbus --version` prints it, and
# docs/changelog.md has a section for it (docs/upgrading.md#releasing).
__version__ = "0.2.0"
