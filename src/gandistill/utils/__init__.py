"""Small shared helpers (distributed setup, image grids, devices, progress)."""
