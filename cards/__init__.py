"""Adaptive Card templates, the en/fr/es string catalogs, and the renderer that binds them."""
