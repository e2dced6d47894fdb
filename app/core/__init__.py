"""Pure core: stdlib and numpy only (checked by import-linter)."""
