"""A test that lacks something tools/test.sh installs is skipped, naming it, on a developer's
machine, and fails under CI (CI set): CI never passes a test it did not run."""
from __future__ import annotations

import pytest

from tests import conftest
from tests.common import import_or_skip, needs, skip_missing


def test_skip_missing_skips_locally_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="^frobnicator is not installed$"):
        skip_missing("frobnicator is not installed")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"frobnicator is not installed \(a failure under CI: "
                                                    r"tools/test.sh installs it\)"):
        skip_missing("frobnicator is not installed")


def test_import_or_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    assert import_or_skip("json", "json is missing").__name__ == "json"
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="mw_no_such_module is missing"):
        import_or_skip("mw_no_such_module", "mw_no_such_module is missing")


def test_the_needs_mark_acts_before_the_test(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    conftest.pytest_runtest_setup(request.node)  # this test's own marks: nothing missing
    request.node.add_marker(needs(True, "present"))
    conftest.pytest_runtest_setup(request.node)
    request.node.add_marker(needs(None, "the frobnicator is missing"))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="the frobnicator is missing"):
        conftest.pytest_runtest_setup(request.node)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="the frobnicator is missing"):
        conftest.pytest_runtest_setup(request.node)
