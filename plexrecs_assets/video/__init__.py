"""Video recommendations, engine-neutral and free of Dagster and FastAPI: watch history and
taste, TMDb facts, the rules and exclusions of a category, rotation, the candidate pool,
verification, pool fill and diversity. Engines (``engines/``) choose from what this builds."""
