"""`python -m contract` runs the same CLI as the `cdn-contract` script."""

from contract.cli import main

main()
