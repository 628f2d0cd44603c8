"""Where data comes from and goes to: readers, normalisation, CRS, stores, reference facts."""
