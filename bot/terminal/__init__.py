"""The terminal adapter: the ``studybot`` typer app, chat, quizzes and interviews, rendered with rich.

The twin of ``bot.discord_app``: a thin layer over the study core in ``bot.study``.
"""
