"""Two extensions, each built from several C sources."""
