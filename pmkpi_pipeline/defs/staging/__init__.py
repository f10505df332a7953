"""Staging: typed views over the raw tables, validated per partition range."""
