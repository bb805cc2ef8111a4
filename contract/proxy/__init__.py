"""A validating reverse proxy: `cdn-contract proxy --upstream URL`."""

from contract.proxy.app import ValidatingProxy

__all__ = ["ValidatingProxy"]
