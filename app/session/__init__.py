"""session layer (see ARCHITECTURE in README)."""
