"""Part 2 of atomiton.store: the entity client, its facades, queries, indexes and persistence."""
