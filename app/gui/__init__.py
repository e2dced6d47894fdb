"""gui layer (see ARCHITECTURE in README)."""
