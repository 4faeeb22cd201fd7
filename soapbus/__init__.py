"""soapbus: IEC 61968-100 integration over SOAP."""
__version__ = "0.1.0"
