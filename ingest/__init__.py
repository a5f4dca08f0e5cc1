"""The re-runnable ingestion pipeline: load -> clean -> split -> embed -> upsert into Chroma."""
