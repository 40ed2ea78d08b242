"""Materialization metadata helpers shared by the asset modules."""
from dagster import MetadataValue


def markdown_table(rows: list[dict], limit: int | None = 10) -> MetadataValue:
    """A small Markdown preview table for the Dagster UI."""
    if not rows:
        return MetadataValue.md("_empty_")
    cols = list(rows[0])
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in rows[:limit] if limit else rows:
        lines.append("| " + " | ".join(str(row[c]).replace("|", "/") for c in cols) + " |")
    return MetadataValue.md("\n".join(lines))
