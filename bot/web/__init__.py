"""The web views Teams shows in tabs, served by the same app over the same services."""
