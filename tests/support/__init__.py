"""Helpers the tests share: servers, subprocess environments, measurements."""
