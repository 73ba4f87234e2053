"""The history pane: its paging model, its view and what its actions ask of Bandwidth and of files."""
