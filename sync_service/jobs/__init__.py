"""Render jobs, the system of record: what clients send (forms, uploads), the status machine
(transitions), reading (queries), changing (commands), their files (storage, cleanup) and the
templates they render with."""
