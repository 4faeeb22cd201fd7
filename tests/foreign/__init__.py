"""Foreign 61968-100 endpoints: servers written in shapes unlike soapbus's own, to test the harness and the SDK.

No server here imports soapbus: each is what a vendor could have written with its own
framework, WSDL, namespaces and habits, each with a deliberately defective variant and a
correct twin. Only `fixtures` (the test plumbing) points soapbus's harness and SDK at them.

* `der_spyne`: a Spyne service for IEC 61968-5 DER groups in a vendor's own namespaces.
* `interop2011`: a meter data system in the shape of the 2011 interoperability tests, whose
  WSDL names an address where it does not run.
* `workrequests2015`: WorkRequests in the 2015 namespaces with the public 2015 profile.

`rules` holds what all three do alike behind their wire formats (object state, idempotency,
reply codes); `carrier` and `http_host` what the two hand-written ones share; `fixtures` the
pytest fixtures that start them on loopback.
"""
