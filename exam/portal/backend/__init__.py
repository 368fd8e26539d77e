"""The ``portal`` database alias: the default database, logged in as the portal's own role."""
