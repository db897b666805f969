"""Server images: resolve a flavor/version to a local image, pulling or building offline as needed."""
