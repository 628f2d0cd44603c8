"""Pure computation on GeoDataFrames and graphs: no web, database or HTML imports."""
