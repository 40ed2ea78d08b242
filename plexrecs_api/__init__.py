"""PlexRecs' local HTTP API (FastAPI sidecar): ``plexrecs_api.app.create_app(config_dir)``."""
