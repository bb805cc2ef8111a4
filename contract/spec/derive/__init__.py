"""Stage 2 of the pipeline: the WADL model → an OpenAPI 3.1 document per doc variant.

`cdn-contract derive` runs it: the builder turns the WADL (read by `contract.spec.wadl`) into paths,
parameters and body schemas, the overlays in `spec/overlays/` add what only the later docs
and CONTRACT-NOTES say, and the result is checked (OpenAPI validity, statement citations,
samples) before anything is written to `spec/`. Everything downstream reads those files,
through `contract.model`.
"""

from contract.spec.derive.derive import Inputs, inputs_for, render_all, render_variant

__all__ = ["Inputs", "inputs_for", "render_all", "render_variant"]
