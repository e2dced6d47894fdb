"""The three pages of the operator window: set-up, run, end of session."""
