"""The district's departments, leaders and users, and resolving their names as people write them."""
