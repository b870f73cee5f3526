"""Presentation: text/CSV/JSON formatting and matplotlib report figures."""
