"""The HTTP face: the Flask app, security, request validation, jobs, OpenAPI. The only Flask importer."""
