"""Stage 3 of the pipeline: request and response validation against a variant.

    from contract.validation import HttpRequest, validate_exchange
    verdict = validate_exchange(Exchange(HttpRequest("DELETE", url, headers)), "2016-08")

Two engines give the same verdicts: `compiled` (the default: the checks generated from the
spec, the code the mock admits requests with) and `openapi-core` (the reference
implementation, the oracle the tests hold the compiled one to).
"""

from contract.validation.compiled import CompiledValidator, compiled_for
from contract.validation.messages import Exchange, HttpRequest, HttpResponse
from contract.validation.report_types import RequestReport, Violation
from contract.validation.verdict import ENGINES, Verdict, validate_exchange, validator

__all__ = [
    "ENGINES",
    "CompiledValidator",
    "Exchange",
    "HttpRequest",
    "HttpResponse",
    "RequestReport",
    "Verdict",
    "Violation",
    "compiled_for",
    "validate_exchange",
    "validator",
]
