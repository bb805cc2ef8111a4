"""Stage 3, live: a validating reverse proxy (`cdn-contract proxy --upstream URL`).

`server` holds what the proxy does with an exchange (validate, forward, validate, log); it
is served by contract/http/serving.py and reaches the implementation through
contract/http/upstream.py.
"""

from contract.http.serving import serve
from contract.proxy.server import ValidatingProxy

__all__ = ["ValidatingProxy", "serve"]
