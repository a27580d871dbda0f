"""A seqlab plug-in: the `bag` encoder and the `regress` task."""
