"""Assembling a Junta process: settings, the command line, the app factory, logging."""
