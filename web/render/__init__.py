"""Rendering: templates, translations, the casebook's labels, charts."""
