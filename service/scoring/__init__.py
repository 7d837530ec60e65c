"""Text to scores: normalisation, features, n-gram hashing, model artifacts, scorer, batcher."""
