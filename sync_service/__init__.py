"""The sync service: render jobs' system of record, admin HTTP API, database, files and CLI."""
