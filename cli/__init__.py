"""Maintenance commands run by operators, outside the bot's process."""
