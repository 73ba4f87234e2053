"""Templates in the window: the popup, the slash shortcut, missing variables marked, the manage dialog."""
