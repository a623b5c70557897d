"""Layer 3: the networks, their specs (architecture + recipe) and batched passes through them."""
