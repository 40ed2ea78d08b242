"""People: the Plex users PlexRecs recommends for, and each one's own taste."""
