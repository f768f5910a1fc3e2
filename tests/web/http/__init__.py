"""Tests of web.http."""
