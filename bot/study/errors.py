"""Typed errors of the study core. The adapters (CLI, Discord) turn them into friendly words."""

from __future__ import annotations


class StudybotError(Exception):
    """Base class: the message is safe to show to a user as it is."""


class InvalidQuestion(StudybotError):
    """An empty, oversized or otherwise unusable question."""


class KnowledgeError(StudybotError):
    """The content in knowledge/ (topics, notes, banks) is missing or malformed."""


class IngestError(StudybotError):
    """Nothing could be ingested, or the store refused the upsert."""


class VectorStoreUnavailable(StudybotError):
    """The Chroma store (embedded or server) cannot be reached or opened."""


class LLMUnavailable(StudybotError):
    """The configured LLM failed or timed out; callers fall back to the offline answer."""


class ConfigError(StudybotError):
    """The settings are inconsistent (for example a provider without a model)."""


class EmptyKnowledgeBase(StudybotError):
    """Nothing has been ingested yet."""

    def __init__(self, message: str = "The knowledge base is empty: run `studybot ingest` first.") -> None:
        super().__init__(message)


class CannotGrade(StudybotError):
    """A free-text answer cannot be graded: no bank item matches and the notes hold nothing relevant."""


class InvalidAnswer(StudybotError):
    """An answer that cannot be read for this kind of question (e.g. 'E' for four choices)."""


class NoQuizItems(StudybotError):
    """No quiz item matches the filters."""


class SessionNotFound(StudybotError):
    """No quiz or interview session has that id (it may have been deleted)."""


class SessionFinished(StudybotError):
    """The session is over (finished or abandoned): nothing more can be answered in it."""


class SessionAlreadyStarted(StudybotError):
    """A group session left its lobby: nobody can join it or start it again."""


class NotYourTurn(StudybotError):
    """Someone answered who is not expected to answer now (another member's turn, or not in the session)."""


class NotSessionOwner(StudybotError):
    """Only the member who started a session may begin or end it."""


class AnswerTooLate(StudybotError):
    """The answer came after its time window closed; it was recorded as unanswered."""


class InvalidSessionOptions(StudybotError):
    """A session was asked for with options that cannot work (a bad level, mode or question count)."""


class NoInterviewQuestions(StudybotError):
    """Too few interview questions match the filters, even at neighbouring levels."""


class NoFlashcards(StudybotError):
    """No flashcard is due or new for the filters asked."""
