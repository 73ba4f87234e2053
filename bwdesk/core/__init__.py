"""Pure-Python business rules and I/O for bwdesk. Nothing here may import Qt (a test enforces it)."""
