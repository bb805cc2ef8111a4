"""Code generators: the stub server and the Python client, rendered from a spec with jinja2."""
