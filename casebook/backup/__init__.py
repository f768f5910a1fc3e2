"""Backups of a deployment and their restore: the database as a backend-neutral dump, the
content-addressed attachments and the recordings with their manifests, in one tar archive
(optionally encrypted) whose manifest lists every file with its SHA-256.

- `values`: a column's value to JSON and back, by column type (pure).
- `manifest`: what an archive holds and the check of what was read against it (pure).
- `archive`: the tar stream, written and read with every member hashed.
- `crypto`: the operator's key and the archive encrypted in authenticated chunks.
- `snapshot`: a consistent read of the database (SQLite's backup API, PostgreSQL's snapshot).
- `tables`: a table's rows written to and loaded from its archive member.
- `files`: which attachment and recording files a backup holds.
- `writer`: `junta backup`; `reader`: `--verify` and `junta restore`.

docs/operations.md tells operators what is kept and how to restore it.
"""
