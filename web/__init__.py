"""The application people reach and the composition root: settings, CLI, app factory, pages, API."""
