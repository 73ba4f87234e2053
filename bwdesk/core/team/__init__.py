"""The team history: every desk of a team shares one PostgreSQL database (docs/design.md §16). psycopg loads only in
the modules that connect, never on the way to the window's first paint."""
