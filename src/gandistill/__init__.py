"""gandistill: distil pretrained GANs into fast conditional image translators with limited data."""

__version__ = "0.1.0"
