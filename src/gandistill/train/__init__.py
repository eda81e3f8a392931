"""The shared training engine: one DDP-aware loop, a phase table and the loss-term protocol.

Layer: above persistence (``io``) and the networks, below the methods (teacher, kdit, gpd); it knows
nothing of any method's losses.
"""
