"""POV Lab: perception-guided crossmodal entailment for eye-tracking labs."""

__version__ = "0.1.0"
