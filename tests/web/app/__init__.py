"""Tests of web.app."""
