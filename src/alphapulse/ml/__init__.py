"""ML research pipeline: labels, purged cross-validation, datasets, tuning, leakage
checks (models, registry and drift live in their own modules)."""
