"""One module per ``gridplan`` command; each exposes ``register(app)``."""
