"""Consumer groups: the group coordinator, its membership protocol and committed offsets."""
