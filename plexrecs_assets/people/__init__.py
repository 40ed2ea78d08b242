"""People: the Plex users PlexRecs recommends for, one by one (issue 14).

``users.py`` turns Tautulli's ``get_users`` rows into ``Person`` records with a stable
``user_key`` (the first half of the target key ``(user_key, category_id)``, see ``keys.py``)
and counts plays per user; ``sync.py`` reads Tautulli and stores the result
(``store/users.py``). Pure domain code: neither Dagster nor FastAPI.
"""
