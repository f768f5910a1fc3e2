"""Tests of web.pages."""
