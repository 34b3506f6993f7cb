"""Part 1 of atomiton.store: atoms, the reactive runtime, stores, the registry and time travel."""
