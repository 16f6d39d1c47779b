from shared.errors import (
    EXIT_CODES,
    FileTooLarge,
    InvalidInput,
    InvalidTransition,
    NotFound,
    RenderCancelled,
    RenderFailed,
    SyncFailed,
    TshirtError,
    UnsupportedMediaType,
    error_for_exit_code,
)


def test_one_family():
    for cls in (InvalidInput, FileTooLarge, UnsupportedMediaType, NotFound, InvalidTransition,
                RenderFailed, RenderCancelled, SyncFailed):
        assert issubclass(cls, TshirtError)


def test_http_statuses():
    assert InvalidInput("x").http_status == 422
    assert FileTooLarge("x").http_status == 413
    assert UnsupportedMediaType("x").http_status == 415
    assert NotFound("x").http_status == 404
    assert InvalidTransition("x").http_status == 409
    assert TshirtError("x").http_status == 500


def test_codes_messages_and_json():
    error = InvalidInput("Unknown preset 'x'.", code="unknown_preset")
    assert error.to_dict() == {"code": "unknown_preset", "message": "Unknown preset 'x'."}
    assert str(error) == "Unknown preset 'x'."
    assert SyncFailed("down").code == "sync_failed"


def test_cli_exit_codes_are_distinct_per_cause():
    causes = ["file_not_found", "unsupported_media_type", "corrupt_image", "unknown_preset",
              "invalid_color", "output_not_writable", "empty_design", "render_failed",
              "cancelled"]
    codes = [EXIT_CODES[c] for c in causes]
    assert len(set(codes)) == len(codes) and 0 not in codes and 1 not in codes
    assert InvalidInput("x", code="unknown_preset").exit_code == 6
    assert RenderCancelled("x").exit_code == 130
    assert TshirtError("x", code="something_new").exit_code == 1


def test_exit_codes_map_back_to_errors_with_retry_advice():
    assert error_for_exit_code(6, "m").code == "unknown_preset"
    assert not error_for_exit_code(6, "m").retryable
    assert isinstance(error_for_exit_code(130, "m"), RenderCancelled)
    crashed = error_for_exit_code(-9, "killed")
    assert isinstance(crashed, RenderFailed) and crashed.retryable
    assert error_for_exit_code(20, "m").retryable
