"""The directory: the do-not-text list, message templates and contact names (docs/design.md §17).

Kept in the history's store (the local SQLite file today; the team database when configured), each change
stamped with who and when. `store.DirectoryStore` is the interface; `sqlite_store` the local implementation;
`choice.open_directory` picks the store a profile uses.
"""
