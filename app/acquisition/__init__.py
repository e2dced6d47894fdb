"""acquisition layer (see ARCHITECTURE in README)."""
