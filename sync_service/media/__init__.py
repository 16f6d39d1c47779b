"""Publishing finished renders to the store: the `MediaSink` interface, its Medusa v2
implementation, and the push that records what was published."""
