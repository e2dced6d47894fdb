"""inference layer (see ARCHITECTURE in README)."""
