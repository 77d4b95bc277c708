"""Presentation helpers shared by every view that renders text for people."""
