"""The embedded sandbox: a seeded company model, its billing DB and CSV writers, and HTTP servers that
speak the GA4 Data API and the Mailchimp Marketing API."""
