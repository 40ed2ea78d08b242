"""The video recommendation assets: the household's history, inventory and taste, the
background TMDb fill, and the per-category raw → resolved → Kometa steps with their checks,
partitions, job and schedule."""
