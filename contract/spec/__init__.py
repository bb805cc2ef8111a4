"""Stages 1 and 2, the contract's sources → spec/: the WADL reader (`wadl`), the OpenAPI
builder with its overlays and sample checks (`derive`), the statements of CONTRACT-NOTES.md
(`statements`), and the two doc variants with where their inputs and outputs live
(`variants`)."""
