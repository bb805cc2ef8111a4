"""The contract an installed cdn-contract runs on: the derived specs (`spec`) and the
generated server checks (`server`), copied from the checkout's spec/ and generated/server/
when the wheel is built (pyproject.toml maps them here). A checkout never reads this
package: its own files win (contract/spec/variants.py)."""
