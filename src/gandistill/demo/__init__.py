"""``gandistill demo``: the whole pipeline on the built-in data, ending in an HTML report."""
from .pipeline import DemoConfig, run_demo

__all__ = ["DemoConfig", "run_demo"]
