"""The stub server's runtime: everything the generated server (generated/server/) imports.

The generated code holds what the spec says (routes, parameter checks, documented statuses,
examples); this package holds what a real deployment would do with a valid request (state,
jobs, rate limits, tenancy; in `store`, one interface over SQLite or a PostgreSQL database
shared by replicas), the CDN edge that serves the services' assets, and the controls users
expect from a mock.
"""
