"""HTTP adapters: one blueprint per area; views parse, call the core, serialise."""
