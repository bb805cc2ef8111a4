"""cdn-contract: the Rackspace CDN API v1.0 documentation as an executable contract."""

__version__ = "0.1.0"
