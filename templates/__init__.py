"""Jinja2 templates of every host-side artifact, shipped as package data."""
