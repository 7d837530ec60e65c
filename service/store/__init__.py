"""Redis: key names, the comment store and its Lua scripts, auth records, rate limits."""
