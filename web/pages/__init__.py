"""The HTML pages, one module per area; `mount` registers the casebook's."""
