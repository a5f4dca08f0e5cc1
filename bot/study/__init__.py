"""The study core: retrieval, answering, quizzes, interviews, grading, progress.

Nothing in this package may import ``discord``; the Discord bot and the terminal CLI are thin
adapters over it (``tests/test_architecture.py`` enforces the rule).
"""
