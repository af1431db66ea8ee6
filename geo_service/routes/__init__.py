"""An inspector's day: visits to a route, patrols, the multi-day schedule, GPX.

``model`` holds the vocabulary (visits, shift, stops, priority classes, the reception),
``network`` the travel-time model, ``vroom`` and ``polish`` the two solvers of a day,
``day`` the day plan, ``patrol`` patrol loops, ``schedule`` and ``schedule_assign`` the
multi-day schedule, ``gpx`` the export. The printable route sheet is `geo_service.pages.sheet`.
"""
