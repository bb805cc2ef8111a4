"""Stage 3, live: a validating reverse proxy (`cdn-contract proxy --upstream URL`).

`server` serves clients and validates each exchange with the compiled validator;
`upstream` keeps pooled keep-alive connections to the implementation; `log` writes the
violations as JSON lines.
"""

from contract.proxy.server import ValidatingProxy, serve

__all__ = ["ValidatingProxy", "serve"]
