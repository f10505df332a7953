"""The billing database: a read-only SQLAlchemy resource, the raw billing assets and tables, staging SQL
and raw checks."""
