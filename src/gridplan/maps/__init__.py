"""Folium rendering of plans, findings and scenario diffs."""
