"""The geo-service command: exit codes and one readable line per problem."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from geo_service.cli import main
from tests.conftest import TWO_PRECINCTS


def test_build_and_info(tiny_osm: Path, tmp_path: Path, write_precincts, write_roster, capsys) -> None:
    out = tmp_path / "city"
    code = main(["build", "--osm", str(tiny_osm), "--precincts", str(write_precincts(TWO_PRECINCTS)),
                 "--roster", str(write_roster()), "--out", str(out), "--city", "tiny", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.startswith(f"built {out} (tiny-")
    assert main(["info", "--bundle", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["counts"]["inspectors"] == 2


def test_missing_file_exits_2_with_one_line(tmp_path: Path, capsys) -> None:
    code = main(["build", "--osm", str(tmp_path / "missing.osm.pbf"), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith("geo-service: error: ") and "no such file" in err[-1]
    assert "Traceback" not in "\n".join(err)


def test_validation_problems_one_line_each(tiny_osm: Path, tmp_path: Path, write_precincts, capsys) -> None:
    bad = write_precincts({"A": (-0.5, -0.5, 3.5, 2.0), "B": (-0.5, 1.5, 3.5, 3.6)})
    code = main(["build", "--osm", str(tiny_osm), "--precincts", str(bad), "--out", str(tmp_path / "o"), "--quiet"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert any(line.startswith("error: precincts.geojson: precincts A and B: overlap") for line in err)
    assert err[-1] == "geo-service: error: 1 input problem must be fixed before the city can be built"
    assert not (tmp_path / "o").exists()


def test_console_script_runs(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "geo_service.cli", "--help"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert proc.returncode == 0 and "build" in proc.stdout and "demo" in proc.stdout


def test_demo_bundle_is_built_once(tmp_path: Path, monkeypatch) -> None:
    """The demo is Almaty from the shipped 2012 extract: named in three languages, its
    attribution kept, precincts derived (provisional), inspectors fictitious."""
    from geo_service.bundle import load_bundle
    from geo_service.ingest.demo import ensure_demo_bundle

    monkeypatch.setenv("GEO_SERVICE_CACHE", str(tmp_path))
    path = ensure_demo_bundle()
    stamp = (path / "manifest.json").stat().st_mtime_ns
    assert ensure_demo_bundle() == path
    assert (path / "manifest.json").stat().st_mtime_ns == stamp
    city = load_bundle(path)
    assert city.manifest["demo"] is True
    assert city.manifest["precinct_source"] == "derived"
    assert len(city.precincts) == len(city.roster) >= 3
    assert all("fictitious" in n for n in city.roster.inspector_name)
    assert city.addresses.shape[0] > 700
    assert city.manifest["city_names"] == {"kk": "Алматы", "ru": "Алматы", "en": "Almaty"}
    assert "CC BY-SA 2.0" in city.manifest["attribution"]
    assert (path / "tiles.pmtiles").stat().st_size > 100_000
    assert 76.5 < city.posts.lon.mean() < 77.3 and 43.0 < city.posts.lat.mean() < 43.6


def test_route_command(built_tiny: Path, tmp_path: Path, capsys) -> None:
    from tests.conftest import grid_latlon

    lines = ["id,lat,lon,address,minutes,priority,windows,label"]
    for k, (i, j) in enumerate([(0.5, 0.2), (1.5, 0.5), (2.5, 1.2)]):
        lat, lon = grid_latlon(i, j)
        lines.append(f"v{k},{lat},{lon},,10,2,,visit {k}")
    lines.append("a1,,,Пушкина 13/1,10,3,10:00-12:00,appeal")
    visits = tmp_path / "visits.csv"
    visits.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code = main(["route", "--bundle", str(built_tiny), "--inspector", "UI-1", "--visits", str(visits),
                 "--date", "2026-12-01", "--gpx", str(tmp_path / "r.gpx"), "--sheet", str(tmp_path / "r.html"),
                 "--out", str(tmp_path / "r.json")])
    out = capsys.readouterr().out
    assert code == 0
    assert out.count(" visit ") == 4
    assert (tmp_path / "r.gpx").read_text().startswith("<?xml")
    assert json.loads((tmp_path / "r.json").read_text())["stops"][0]["kind"] == "start"
    assert main(["route", "--bundle", str(built_tiny), "--inspector", "UI-9", "--visits", str(visits)]) == 2
    assert "no inspector" in capsys.readouterr().err


def test_workload_command(built_tiny: Path, tmp_path: Path, capsys) -> None:
    assert main(["workload", "--bundle", str(built_tiny), "--out", str(tmp_path / "w.csv")]) == 0
    lines = (tmp_path / "w.csv").read_text(encoding="utf-8").splitlines()
    assert "workload_index" in lines[0] and len(lines) == 3
