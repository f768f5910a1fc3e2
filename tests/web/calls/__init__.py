"""Tests of web.calls."""
