"""presentation layer (see ARCHITECTURE in README)."""
