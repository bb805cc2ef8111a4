"""JSON Pointer (RFC 6901) tokens, as reports cite places in documents."""


def escape(key: str) -> str:
    """One reference token: `~` and `/` escaped."""
    return key.replace("~", "~0").replace("/", "~1")


def unescape(token: str) -> str:
    """The key a reference token names."""
    return token.replace("~1", "/").replace("~0", "~")
