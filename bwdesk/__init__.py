"""bwdesk: send SMS and MMS by hand through Bandwidth's Messaging API v2."""

__version__ = "0.1.0"
