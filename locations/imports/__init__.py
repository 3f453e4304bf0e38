"""Import and export of GIS files: reading sources, staging, validating and loading in PostGIS, writing exports."""
