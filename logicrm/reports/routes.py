"""HTTP routes."""

blueprints = ()
