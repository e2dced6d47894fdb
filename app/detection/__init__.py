"""detection layer (see ARCHITECTURE in README)."""
