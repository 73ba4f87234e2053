"""A local stand-in for the Bandwidth Messaging API v2, for demos and tests. It validates on its own, from the contract."""
