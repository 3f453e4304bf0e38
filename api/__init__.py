"""The FastAPI application of the location platform."""
