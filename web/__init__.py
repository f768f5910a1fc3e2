"""The application people reach, by concern: `app` (assembly), `http` (plumbing), `api` (JSON
resources), `pages` (HTML areas), `render` (templates and words), `calls` (bridges to calls)."""
