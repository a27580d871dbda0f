"""A seqlab plug-in, as another project would write one: the `bag` encoder, the `regress` task and the
`textfolder` input kind, each found by seqlab through the entry points in pyproject.toml."""
