"""Reading WADL 2009/02 documents: the first stage of the pipeline.

`read_wadl(path)` returns an `Application` (see `model`); DocBook descriptions are already
rendered to CommonMark by `docbook`.
"""

from contract.spec.wadl.model import (
    Application,
    HiddenElement,
    Method,
    Param,
    Representation,
    Resource,
    Response,
    Sample,
)
from contract.spec.wadl.reader import read_wadl

__all__ = [
    "Application",
    "HiddenElement",
    "Method",
    "Param",
    "Representation",
    "Resource",
    "Response",
    "Sample",
    "read_wadl",
]
