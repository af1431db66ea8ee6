"""Problems found in a user's input files, one readable line each.

Every line names the file, the record and the fix, so a police department's GIS
officer can correct the file without reading code. Fatal problems stop the build;
warnings are printed and kept in the bundle's build report.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Literal

from geo_service.errors import ValidationFailed

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Problem:
    """One problem in one record of one file."""

    severity: Literal["error", "warning"]
    file: str
    record: str
    message: str
    fix: str

    def line(self) -> str:
        return f"{self.severity}: {self.file}: {self.record}: {self.message}; fix: {self.fix}"


@dataclass
class ProblemReport:
    """Collects problems across the inputs of one build."""

    problems: list[Problem] = field(default_factory=list)

    def error(self, file: str, record: str, message: str, fix: str) -> None:
        self.problems.append(Problem("error", file, record, message, fix))

    def warning(self, file: str, record: str, message: str, fix: str) -> None:
        self.problems.append(Problem("warning", file, record, message, fix))

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def lines(self) -> list[str]:
        return [p.line() for p in self.problems]

    def raise_if_fatal(self) -> None:
        """Raise `ValidationFailed` listing every problem when any is an error."""
        errors = self.errors
        if errors:
            msg = (f"{len(errors)} input problem{'s' if len(errors) != 1 else ''} must be fixed "
                   f"before the city can be built")
            raise ValidationFailed(msg, problems=self.lines())
