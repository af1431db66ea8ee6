"""The build pipeline: read the OSM extract and the department's files, check them, write a city bundle."""
