"""What every layer shares: the daily partitions, and the factories of staging assets and raw row checks."""
