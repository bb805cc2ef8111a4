"""Stage 3, the runtime of the generated checks: the request model (`messages`), parameter
parsing and problems (`params`), routing (`routing`) and the one admission verdict
(`admission`). The code `cdn-contract generate server` writes imports only this package, and
the mock, the compiled validator and the proxy all admit requests through it."""
