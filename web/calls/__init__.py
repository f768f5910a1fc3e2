"""Bridges between the web app and calls: the media node, recordings, room access, guest links."""
