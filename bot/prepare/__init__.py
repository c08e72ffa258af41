"""The leader's preparation: the guide's checklist, resources, tips and contacts."""
