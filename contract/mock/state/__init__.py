"""The mock's state: one `Store` interface (`store`) over SQLite (`sqlite_store`, embedded)
or PostgreSQL (`postgres_store`, shared by replicas), and the rate limit's window
(`ratelimit`); tests/test_store_contract.py is the suite every engine passes."""
