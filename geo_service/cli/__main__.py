"""`python -m geo_service.cli`: the `geo-service` command."""

import sys

from geo_service.cli import main

sys.exit(main())
