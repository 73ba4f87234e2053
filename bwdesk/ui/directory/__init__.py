"""The window's parts of the directory (docs/design.md §17): marks on chips, the list dialog, names."""
