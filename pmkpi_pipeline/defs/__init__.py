"""Definitions grouped by source or domain: each folder holds its resource, raw assets and checks."""
