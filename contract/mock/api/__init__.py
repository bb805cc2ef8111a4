"""The mock's API behaviours: what a valid request of each operation does (`services`,
`assets`, `catalog`), which behaviour serves which operation (`handlers`), and what users
ask of a mock besides the API (`controls`: Prefer, faults, CORS; `introspection`:
/__mock__; `docs`: /docs)."""
