"""Anonymous quick polls: their verbs."""
