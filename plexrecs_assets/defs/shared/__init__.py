"""Dagster glue every domain uses: service resources (and their in-memory fakes), the config
resource, the run record and metadata helpers."""
