"""Training: the loop, the optimizer schedule, devices and precision, and the run directory."""
