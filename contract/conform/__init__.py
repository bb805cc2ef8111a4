"""The conformance suite: does a running implementation honour the contract of a variant?

Schemathesis drives property-based cases for every operation (`fuzz`); our own checks, one
per observable statement of CONTRACT-NOTES (`checks`), and a stateful scenario
(`scenario`) probe what a schema cannot say; the edge checks (`edge_probes`,
`edge_judges`) put an origin of the suite's own (`origin`) behind the CDN and watch what
purges do; `runner` puts them together and `report` writes what people and CI read.
Every request any of them sends passes one outbound gate (`gate`): it stays on the origin
the user named and is read within bounds, whatever the target answers.
"""
