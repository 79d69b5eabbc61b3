"""Everything that talks to Temporal as a client: connect, submit signals, control and query
incidents. Used by the CLI, the HTTP API and the composition root alike."""
