"""Field types the API's request models share: dates and times within the sane range."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator

from geo_service import clock


def _day(value: dt.date) -> dt.date:
    return clock.check_day(value, "the value")


def _moment(value: dt.datetime) -> dt.datetime:
    return clock.check_moment(value, "the value")


#: A calendar date from `clock.FIRST_DAY` to `clock.LAST_DAY`.
Day = Annotated[dt.date, AfterValidator(_day)]
#: A date-time whose date lies from `clock.FIRST_DAY` to `clock.LAST_DAY`.
Moment = Annotated[dt.datetime, AfterValidator(_moment)]
