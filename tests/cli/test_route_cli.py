"""`geo-service route` on bad visit files: one readable line naming the file and the row, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo_service.cli import main
from tests.conftest import grid_latlon

HEADER = "id,lat,lon,address,minutes,priority,windows,label"


def _route(bundle: Path, visits: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["route", "--bundle", str(bundle), "--inspector", "UI-1", "--visits", str(visits)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _write(tmp_path: Path, text: str, name: str = "visits.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


@pytest.mark.parametrize("text", ["", "\n\n", "\ufeff"])
def test_an_empty_file_is_one_line(built_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                   text: str) -> None:
    path = _write(tmp_path, text)
    code, out, err = _route(built_tiny, path, capsys)
    line = _one_line(err)
    assert code == 2 and out == ""
    assert line.startswith("geo-service: error: ") and str(path) in line and "empty" in line and HEADER in line


def test_a_header_without_rows_plans_nothing(built_tiny: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, HEADER + "\n")
    code, out, err = _route(built_tiny, path, capsys)
    assert code == 2 and out == ""
    assert f"no visits in {path}" in _one_line(err)


def test_swapped_coordinates_name_the_row_and_the_fix(built_tiny: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    lat, lon = grid_latlon(1.5, 0.5)
    path = _write(tmp_path, f"{HEADER}\nv1,{lat},{lon},,10,2,,ok\nv2,{lon},{lat},,10,2,,swapped\n")
    code, out, err = _route(built_tiny, path, capsys)
    line = _one_line(err)
    assert code == 2 and out == ""
    assert "visits.csv row 3" in line and "probably swapped" in line and "fix: swap the row's lat and lon" in line
    assert f"({lat}, {lon}) is inside it" in line and "nearest road" not in line


@pytest.mark.parametrize(("row", "words"), [
    ("v1,abc,76.9,,10,2,,x", "lat and lon must be numbers"),
    ("v1,nan,76.9,,10,2,,x", "finite"),
    ("v1,,,,10,2,,x", "give lat and lon, or address"),
    ("v1,43.25,76.9,,ten,2,,x", "minutes and priority must be numbers"),
    ("v1,,,Нетакой улицы 999999,10,2,,x", "address is not found"),
])
def test_each_bad_row_is_one_line(built_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                  row: str, words: str) -> None:
    code, _, err = _route(built_tiny, _write(tmp_path, f"{HEADER}\n{row}\n"), capsys)
    line = _one_line(err)
    assert code == 2 and "visits.csv row 2" in line and words in line


def test_a_file_without_point_columns(built_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _route(built_tiny, _write(tmp_path, "name,when\nx,y\n"), capsys)
    assert code == 2 and "no lat/lon or address column" in _one_line(err)


def test_a_missing_file(built_tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _route(built_tiny, tmp_path / "nowhere.csv", capsys)
    assert code == 2 and "no such file" in _one_line(err)
