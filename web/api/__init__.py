"""The JSON API, one module per resource; `mount` registers them."""
