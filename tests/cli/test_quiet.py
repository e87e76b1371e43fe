"""The command line's filter of TensorFlow's C++ log lines."""

from nasplug.cli import _quiet

LOADING = (
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
    "I0000 00:00:1796615602.575636   30345 cudart_stub.cc:31] Could not find cuda drivers on "
    "your machine, GPU will not be used.\n"
    "E0000 00:00:1796615609.134683   30345 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)\n"
    "E0000 00:00:1796615609.134690   30345 other.cc:12] something else failed\n"
    "/x/y.py:3: UserWarning: a Python warning\n"
)


def test_notices_below_the_level_are_dropped_and_errors_kept():
    kept = _quiet.filter_log_lines(LOADING, 2)
    assert "absl" not in kept and "cudart_stub" not in kept
    assert "cuInit" in kept and "something else failed" in kept
    assert kept.endswith("UserWarning: a Python warning\n")


def test_the_missing_driver_error_is_dropped_only_without_a_gpu():
    kept = _quiet.filter_log_lines(LOADING, 2, no_gpu=True)
    assert "cuInit" not in kept
    assert "something else failed" in kept
    assert "UserWarning" in kept


def test_level_zero_keeps_everything():
    assert _quiet.filter_log_lines(LOADING, 0) == LOADING
