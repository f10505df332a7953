"""The billing/application database: a read-only SQLAlchemy resource and the raw billing assets."""
