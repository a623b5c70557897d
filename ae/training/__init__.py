"""Layer 7: training: the loop, runs, warm starts, fine-tuning, the queue, reproduction, the classifier."""
