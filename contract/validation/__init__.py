"""Request and response validation against a variant of the contract (openapi-core inside).

    from contract.validation import HttpRequest, validate_exchange
    verdict = validate_exchange(Exchange(HttpRequest("DELETE", url, headers)), "2016-08")
"""

from contract.validation.messages import Exchange, HttpRequest, HttpResponse
from contract.validation.validator import (
    ContractValidator,
    RequestReport,
    Violation,
    validator_for,
)
from contract.validation.verdict import Verdict, validate_exchange

__all__ = [
    "ContractValidator",
    "Exchange",
    "HttpRequest",
    "HttpResponse",
    "RequestReport",
    "Verdict",
    "Violation",
    "validate_exchange",
    "validator_for",
]
