"""Small nn pieces with no config inside: input adapters, pooling, CRF."""
