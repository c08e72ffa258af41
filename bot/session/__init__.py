"""The session itself: agenda, scenarios, questions, conclusion; its cards."""
