"""Raw data to `Batch`: one file per modality, the batch type, the named-dataset registry with its downloads
and loaders, and the carving of splits."""
