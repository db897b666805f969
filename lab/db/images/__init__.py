"""Server images: resolve a flavor to a local image (local, pulled, or built offline), then seed a datadir."""
