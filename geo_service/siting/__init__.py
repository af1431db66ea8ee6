"""Where to open precinct posts: demand, candidates and coverage models (spopt's shape)."""
