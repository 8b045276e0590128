"""One module per CLI command; ``options`` holds what several of them share."""
