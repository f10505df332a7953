"""The embedded sandbox: a seeded company model, its billing DB/CSV writers and HTTP servers speaking the GA4 Data API and Mailchimp Marketing API."""
