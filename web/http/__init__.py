"""HTTP plumbing shared by pages and API: route declarations, errors, sign-in, CSRF, headers,
throttling, health, metrics, OpenAPI."""
