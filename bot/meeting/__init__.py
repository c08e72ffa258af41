"""The meeting itself: its start and end events, and the in-meeting nudges."""
