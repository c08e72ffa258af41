"""The rules of the Leadership Dialogue, testable without HTTP or Teams."""
