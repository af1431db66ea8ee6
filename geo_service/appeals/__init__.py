"""Citizens' appeals in the database, their status flow, visit records and survey scores."""
