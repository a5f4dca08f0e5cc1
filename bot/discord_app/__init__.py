"""The Discord adapter: a thin layer of cogs, views and rendering over the study core."""
