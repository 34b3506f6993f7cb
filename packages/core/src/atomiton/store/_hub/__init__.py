"""Part 3 of atomiton.store: the hub of named, lazily created store instances."""
