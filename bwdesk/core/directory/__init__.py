"""The directory: the do-not-text list, message templates and contacts, kept in the history's store with who and when
(docs/design.md §17). `store` is the interface, `sqlite_store` the local one, `choice` picks a profile's."""
