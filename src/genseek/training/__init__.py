"""Training of the prior's weights (see the training issue)."""
