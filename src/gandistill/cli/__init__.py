"""Command-line interface: ``gandistill <stage> ...``; one module per stage."""
