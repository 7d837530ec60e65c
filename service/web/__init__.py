"""HTTP: app factory, routes, handlers, middleware, the moderator page, OpenAPI, the Akismet
and Coral adapters, background tasks and the multi-worker server."""
