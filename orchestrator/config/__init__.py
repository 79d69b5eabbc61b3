"""Configuration: one strict environment parser, one Settings object, and the file loaders
(catalog, safety limits, playbooks) that turn YAML into validated types at start-up."""
