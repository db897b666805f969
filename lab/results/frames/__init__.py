"""The loader's frames, one module per file family of a run directory: cells, records (history and faults),
divergence, samples (time series), and the workload tables (violations, lost updates)."""
