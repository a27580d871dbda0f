"""Raw data to `Batch`: one file per modality, the batch type, and the named-dataset registry."""
