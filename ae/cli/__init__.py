"""Layer 9: the command line, ``python -m ae``: one module per command group."""
