"""`buf breaking` (run by CI through scripts/check-contract.sh) catches a change
that would break clients generated from the committed contract."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.mcp_servers import REPO_ROOT

BUF = REPO_ROOT / "tools" / "node_modules" / ".bin" / "buf"
PROTO = Path("proto/mcpcoordinator/v1/coordinator.proto")
REMOVED_FIELD = "  // Skips reading cached answers.\n  bool no_cache = 9;\n"


def copy_of_contract(tmp_path: Path) -> Path:
    """A copy of the buf module (buf.yaml and proto/) to edit freely."""
    module = tmp_path / "contract"
    module.mkdir()
    shutil.copy(REPO_ROOT / "buf.yaml", module / "buf.yaml")
    shutil.copytree(REPO_ROOT / "proto", module / "proto")
    return module


def buf_breaking(changed: Path) -> subprocess.CompletedProcess[str]:
    """Checks the changed module against the repository's contract."""
    return subprocess.run(
        [str(BUF), "breaking", str(changed), "--against", str(REPO_ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_removing_a_field_is_reported_as_breaking(tmp_path: Path) -> None:
    module = copy_of_contract(tmp_path)
    proto = module / PROTO
    source = proto.read_text()
    assert REMOVED_FIELD in source
    proto.write_text(source.replace(REMOVED_FIELD, ""))

    result = buf_breaking(module)

    assert result.returncode != 0
    report = result.stdout + result.stderr
    assert 'field "9" with name "no_cache" on message "RouteRequest" was deleted' in report


def test_an_unchanged_contract_is_not_breaking(tmp_path: Path) -> None:
    result = buf_breaking(copy_of_contract(tmp_path))

    assert result.returncode == 0, result.stdout + result.stderr
