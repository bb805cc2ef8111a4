"""The stub server's runtime: what the generated server's app (generated/server/*/app.py)
hands valid requests to; its checks import only `contract.checks`.

The generated code holds what the spec says (routes, parameter checks, documented statuses,
examples); this package holds what a real deployment would do with a valid request (state,
jobs, rate limits, tenancy; in `store`, one interface over SQLite or a PostgreSQL database
shared by replicas), the CDN edge that serves the services' assets, and the controls users
expect from a mock.
"""
