"""Bundle faults: a rebuild never leaves the bundle absent, a killed build's temporary folder is
removed by the next build, and a loaded bundle no longer needs its folder."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from geo_service.bundle import KEEP_VERSIONS, atomic_folder, builds_folder, load_bundle, remove_leftovers
from geo_service.errors import BundleError, InputError
from geo_service.ingest.build import BuildOptions, build_city

BUILDER = """
import sys
from pathlib import Path
from geo_service.ingest.build import BuildOptions, build_city
osm, out = Path(sys.argv[1]), Path(sys.argv[2])
for city in sys.argv[3:]:
    build_city(BuildOptions(osm=osm, out=out, city=city))
"""


def _temp_folders(out: Path) -> list[Path]:
    """Temporary folders a build of ``out`` may leave: hidden ones with "tmp" in the name,
    beside ``out`` or in its versions folder."""
    found = []
    for folder in (out.parent, builds_folder(out)):
        if folder.is_dir():
            found += [p for p in folder.iterdir() if p.name.startswith(".") and "tmp" in p.name and p.is_dir()]
    return found


def test_rebuilds_never_leave_the_bundle_absent(tiny_osm: Path, tmp_path: Path) -> None:
    """Five rebuilds in another process while this one checks the path and loads it: the
    bundle is there at every check and every load succeeds (a swap is one os.replace)."""
    out = tmp_path / "live"
    build_city(BuildOptions(osm=tiny_osm, out=out, city="v0"))
    first_target = out.resolve()
    stop = threading.Event()
    checks, absent, loaded, failed = [0], [0], [], []

    def check() -> None:
        exists = os.path.exists  # follows the link: its target must be there too
        while not stop.is_set():
            for _ in range(1000):
                if not exists(out):
                    absent[0] += 1
            checks[0] += 1000

    def load() -> None:
        while not stop.is_set():
            try:
                loaded.append(load_bundle(out).manifest["city"])
            except (BundleError, OSError) as exc:
                failed.append(repr(exc))
            time.sleep(0.05)  # leave the checker most of the time

    threads = [threading.Thread(target=check), threading.Thread(target=load)]
    for t in threads:
        t.start()
    try:
        subprocess.run([sys.executable, "-c", BUILDER, str(tiny_osm), str(out), "v1", "v2", "v3", "v4", "v5"],
                       check=True, timeout=300, capture_output=True)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert checks[0] > 10_000
    assert absent[0] == 0, f"the bundle was absent at {absent[0]} of {checks[0]} checks"
    assert not failed, failed[:3]
    assert loaded[0] == "v0" and len(set(loaded)) >= 2, sorted(set(loaded))  # loads saw the rebuilds
    assert load_bundle(out).manifest["city"] == "v5" and out.is_symlink() and out.resolve() != first_target
    versions = [p for p in builds_folder(out).iterdir() if not p.name.startswith(".")]
    assert len(versions) == KEEP_VERSIONS and out.resolve() in versions
    assert not _temp_folders(out)


def test_an_older_real_folder_becomes_a_version_without_a_gap(tiny_osm: Path, tmp_path: Path) -> None:
    """A bundle folder written by an older geo-service is swapped for the link in one step."""
    out = tmp_path / "live"
    build_city(BuildOptions(osm=tiny_osm, out=tmp_path / "old", city="old"))
    shutil.copytree((tmp_path / "old").resolve(), out)  # a real folder, as before the links
    build_city(BuildOptions(osm=tiny_osm, out=out, city="new"))
    assert out.is_symlink() and load_bundle(out).manifest["city"] == "new"
    cities = sorted(load_bundle(p).manifest["city"] for p in builds_folder(out).iterdir() if not p.name.startswith("."))
    assert cities == ["new", "old"]  # the older folder is kept as the version before


def test_a_folder_that_is_no_bundle_is_not_replaced(tiny_osm: Path, tmp_path: Path) -> None:
    out = tmp_path / "documents"
    out.mkdir()
    (out / "report.odt").write_text("kept")
    with pytest.raises(InputError, match="holds no city bundle"):
        build_city(BuildOptions(osm=tiny_osm, out=out, city="x"))
    assert (out / "report.odt").read_text() == "kept"


def _kill_mid_write(osm: Path, out: Path) -> Path | None:
    """Run `geo-service build` and SIGKILL it once its temporary folder holds a file; return
    that folder (None when the build finished before it was caught)."""
    proc = subprocess.Popen([sys.executable, "-m", "geo_service.cli", "build", "--osm", str(osm), "--out", str(out),
                             "--city", "killed", "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while proc.poll() is None:
            for tmp in _temp_folders(out):
                if any(tmp.iterdir()):
                    os.kill(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return tmp
        return None
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def test_a_killed_build_leaves_its_temporary_folder_to_the_next_build(tiny_osm: Path, tmp_path: Path) -> None:
    out = tmp_path / "live"
    build_city(BuildOptions(osm=tiny_osm, out=out, city="before"))
    for _ in range(10):  # the write takes some 50 ms of a 3 s run: catch it
        killed = _kill_mid_write(tiny_osm, out)
        if killed is not None:
            break
    else:
        pytest.fail("the build was never caught writing its bundle")
    assert killed.is_dir() and any(killed.iterdir())  # left half-written
    assert load_bundle(out).manifest["city"] == "before"  # the bundle in service is untouched
    build_city(BuildOptions(osm=tiny_osm, out=out, city="after"))
    assert not killed.exists() and not _temp_folders(out)
    leftovers = [p.name for p in builds_folder(out).iterdir() if p.name.startswith(".") and p.name != ".lock"]
    assert not leftovers  # the lock files of temporary folders go with them
    assert load_bundle(out).manifest["city"] == "after"


def test_a_running_build_keeps_its_temporary_folder(tiny_osm: Path, tmp_path: Path) -> None:
    """Cleaning up removes only abandoned folders: a build running meanwhile keeps its own."""
    out = tmp_path / "live"
    with atomic_folder(out) as tmp:
        (tmp / "part").write_text("writing")
        assert tmp not in remove_leftovers(out) and (tmp / "part").exists()
    assert not tmp.exists()


def test_a_loaded_bundle_does_not_need_its_folder(built_tiny: Path, tmp_path: Path) -> None:
    """Everything, buildings included, is read at load: the folder may move or go."""
    city = load_bundle(built_tiny)
    assert city.path == built_tiny.resolve()
    moved = tmp_path / "moved-away"
    shutil.move(built_tiny.resolve(), moved)
    assert not built_tiny.exists()
    assert len(city.buildings()) == 9 and city.buildings()["area_m2"].gt(0).all()
    shutil.rmtree(moved)
    assert len(city.buildings()) == 9
