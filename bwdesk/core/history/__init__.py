"""The history: one row per POST (rows, search, the store interface, the SQLite store, CSV export)."""
