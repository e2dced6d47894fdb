"""recording layer (see ARCHITECTURE in README)."""
