"""Errors a user can cause. Each message says what to do; the CLI prints it, the API returns it as a 4xx."""


class RagError(Exception):
    """Base class: something the user can fix. The message is shown as it is."""

    status_code = 400


class UnsupportedFile(RagError):
    pass


class NoDocuments(RagError):
    pass


class IndexMissing(RagError):
    status_code = 503


class IndexDamaged(RagError):
    status_code = 503


class NotFound(RagError):
    status_code = 404


class BadRequest(RagError):
    status_code = 422
