"""Question answering over CQC assessments of councils' adult social care."""

__version__ = "0.1.0"
