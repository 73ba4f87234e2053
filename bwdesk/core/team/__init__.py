"""The team history: every desk of a team shares one PostgreSQL database (docs/design.md §16).

- `url`: the `postgresql://` URL of the team database, checked (no password in it; TLS with the
  server's certificate verified for anything but this machine) and the keyring key of its password.
- `identity`: who is sending (the agent's display name) and from which desk (a UUID per profile).
- `config`: the team settings in effect (settings, system lock, environment) and the password's source.
- `connection`: connecting with short timeouts, and every failure told apart in words.
- `schema`: the versioned schema, `bwdesk team init` (create, migrate, grant) and the check the app
  makes on connecting (it never migrates by itself).
- `status`: what `bwdesk team status` reports.
- `terms`: a message's words as the local full-text index splits them, for the team row's search column.

Only `connection`, `schema` and `status` load psycopg; nothing here is imported on the way to the
window's first paint.
"""
