"""Stage 3, live: a validating reverse proxy (`cdn-contract proxy --upstream URL`).

`server` holds what the proxy does with an exchange (validate, forward, validate, log); it
is served by contract/serving.py and reaches the implementation through contract/upstream.py.
"""

from contract.proxy.server import ValidatingProxy
from contract.serving import serve

__all__ = ["ValidatingProxy", "serve"]
