"""The sample projects under tests/projects/ are built by the integration tests;
their own unittest suites run against the built wheels, never in this pytest run."""

collect_ignore_glob = ["*"]
