"""A client of the control plane's REST API, and the `streamplane` command built on it."""
