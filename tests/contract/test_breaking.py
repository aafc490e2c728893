"""scripts/check-contract.sh (run by CI) passes an additive change to the
contract and fails a breaking one, an unformatted contract and a clone without
its baseline commit. Each test runs the script itself in a temporary git
repository holding the contract, with the buf of tools/."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.mcp_servers import REPO_ROOT

SCRIPT = Path("scripts/check-contract.sh")
PROTO = Path("proto/mcpcoordinator/v1/coordinator.proto")
REMOVED_FIELD = "  // Skips reading cached answers.\n  bool no_cache = 9;\n"
ALLOW_FAILOVER = "  bool allow_failover = 8;\n"
ADDED_LINES = "  // A field a newer contract adds.\n  string added_later = 1000;\n"
GIT_ENV = {
    "PATH": os.environ["PATH"],
    "HOME": os.environ.get("HOME", "/nonexistent"),
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Contract Test",
    "GIT_AUTHOR_EMAIL": "contract-test@example.invalid",
    "GIT_COMMITTER_NAME": "Contract Test",
    "GIT_COMMITTER_EMAIL": "contract-test@example.invalid",
}


class Repository:
    """A git repository with the contract, the buf configuration and the script,
    as a clone of this project has them."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir()
        shutil.copy(REPO_ROOT / "buf.yaml", root / "buf.yaml")
        shutil.copytree(REPO_ROOT / "proto", root / "proto")
        (root / SCRIPT).parent.mkdir()
        shutil.copy(REPO_ROOT / SCRIPT, root / SCRIPT)
        (root / "tools").mkdir()
        (root / "tools" / "node_modules").symlink_to(REPO_ROOT / "tools" / "node_modules")
        (root / ".gitignore").write_text("/tools/\n")
        self.git("init", "--quiet")
        self.commit("the contract")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=self.root,
            env=GIT_ENV,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout.strip()

    def commit(self, message: str) -> None:
        self.git("add", "--all")
        self.git("commit", "--quiet", "--message", message)

    def change_contract(self, old: str, new: str, message: str) -> None:
        proto = self.root / PROTO
        source = proto.read_text()
        assert old in source
        proto.write_text(source.replace(old, new))
        self.commit(message)

    def check(self, **env: str) -> subprocess.CompletedProcess[str]:
        """Runs scripts/check-contract.sh as CI does."""
        return subprocess.run(
            ["bash", str(SCRIPT)],
            cwd=self.root,
            env={**GIT_ENV, **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def repo(tmp_path: Path) -> Repository:
    return Repository(tmp_path / "clone")


@pytest.mark.slow
def test_a_commit_removing_a_field_fails_the_check(repo: Repository) -> None:
    repo.change_contract(REMOVED_FIELD, "", "remove RouteRequest.no_cache")

    result = repo.check()

    assert result.returncode != 0
    report = result.stdout + result.stderr
    assert 'field "9" with name "no_cache" on message "RouteRequest" was deleted' in report


@pytest.mark.slow
def test_a_commit_adding_a_field_passes_the_check(repo: Repository) -> None:
    repo.change_contract(REMOVED_FIELD, REMOVED_FIELD + ADDED_LINES, "add RouteRequest.added_later")

    result = repo.check()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "buf breaking: no breaking change" in result.stdout


@pytest.mark.slow
def test_breaking_against_chooses_the_baseline(repo: Repository) -> None:
    # A field removed two commits ago: the previous commit (the default
    # baseline) already lacks it, the release tag still has it.
    repo.git("tag", "release")
    repo.change_contract(REMOVED_FIELD, "", "remove RouteRequest.no_cache")
    repo.change_contract(ALLOW_FAILOVER, ALLOW_FAILOVER + ADDED_LINES, "add a field")

    assert repo.check().returncode == 0
    against_release = repo.check(BREAKING_AGAINST="release")
    assert against_release.returncode != 0
    assert "was deleted" in against_release.stdout + against_release.stderr


@pytest.mark.slow
def test_a_clone_without_the_previous_commit_fails_unless_told_to_skip(
    repo: Repository,
) -> None:
    # One commit: HEAD~1 does not exist, as in a shallow clone.
    result = repo.check()

    assert result.returncode == 1
    assert "the baseline HEAD~1 is not a commit in this clone" in result.stderr
    assert "BREAKING_AGAINST=none" in result.stderr
    skipped = repo.check(BREAKING_AGAINST="none")
    assert skipped.returncode == 0, skipped.stderr
    assert "buf breaking: SKIPPED (BREAKING_AGAINST=none)" in skipped.stderr


def test_an_unformatted_contract_fails_the_check(repo: Repository) -> None:
    repo.change_contract("  bool no_cache = 9;\n", "  bool   no_cache = 9;\n", "misformat")

    result = repo.check(BREAKING_AGAINST="none")

    assert result.returncode != 0
    assert "no_cache = 9" in result.stdout
