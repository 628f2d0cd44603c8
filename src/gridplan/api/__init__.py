"""The interfaces: the FastAPI HTTP app and the ``gridplan`` command line."""
