"""`geo-service keys create` and `geo-service audit export` on a store of their own."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from geo_service.cli.keys import cli_audit_export, cli_create_key
from geo_service.errors import InputError
from geo_service.store import Store


def test_cli_create_key_and_audit_export(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out = io.StringIO()
    assert cli_create_key(name="1C", role="external_system", database_url=url, out=out) == 0
    token = out.getvalue().split("token: ")[1].split()[0]
    s = Store(url)
    try:
        assert s.verify(token) is not None and s.verify(token).expires_at is not None  # type: ignore[union-attr]
    finally:
        s.close()
    assert cli_audit_export(out_path=str(tmp_path / "audit.csv"), since="2000-01-01", database_url=url) == 0
    lines = (tmp_path / "audit.csv").read_text().splitlines()
    assert lines[0].startswith("id,at,principal") and "create_key" in lines[1]
    with pytest.raises(InputError):
        cli_audit_export(out_path=str(tmp_path / "x.csv"), since="yesterday", database_url=url)
