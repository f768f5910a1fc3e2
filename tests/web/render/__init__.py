"""Tests of web.render."""
