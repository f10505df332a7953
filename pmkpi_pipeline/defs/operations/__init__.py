"""Operating the pipeline: jobs per layer, schedules, alerting sensors and UI annotations.

Everything here is about how a data team runs the code location (Dagster UI, daemon, docker
deployment), not about what the assets compute.
"""
