"""Outlets for a category's resolved list (``outlets.Publisher``): the Kometa collection files
(``kometa.py``, rendered by ``kometa_files.py``) and Overseerr requests. Free of Dagster."""
