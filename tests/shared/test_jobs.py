import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import InvalidTransition
from shared.jobs import (
    RUNNING,
    TERMINAL,
    JobStatus,
    MediaSyncStatus,
    can_media_transition,
    can_transition,
    check_transition,
    media_sources_for,
    progress_percent,
    sources_for,
)

S = JobStatus
ALLOWED = {
    (S.PENDING, S.COMPOSITING), (S.COMPOSITING, S.RENDERING), (S.RENDERING, S.COMPLETED),
    (S.COMPOSITING, S.FAILED), (S.RENDERING, S.FAILED),
    (S.PENDING, S.CANCELLED), (S.COMPOSITING, S.CANCELLED), (S.RENDERING, S.CANCELLED),
    # a lost worker's job goes back to the queue
    (S.COMPOSITING, S.PENDING), (S.RENDERING, S.PENDING),
}


def test_statuses():
    assert [s.value for s in S] == ["pending", "compositing", "rendering", "completed",
                                    "failed", "cancelled"]
    assert {S.COMPLETED, S.FAILED, S.CANCELLED} == TERMINAL
    assert {S.COMPOSITING, S.RENDERING} == RUNNING


@pytest.mark.parametrize("current", list(S))
@pytest.mark.parametrize("target", list(S))
def test_the_whole_transition_table(current, target):
    expected = current == target or (current, target) in ALLOWED
    assert can_transition(current, target) is expected
    assert can_transition(current.value, target.value) is expected
    if current != target:
        assert (current in sources_for(target)) is expected


@given(st.sampled_from(sorted(TERMINAL)), st.sampled_from(list(S)))
def test_terminal_states_never_change(terminal, target):
    if target != terminal:
        assert not can_transition(terminal, target)
        with pytest.raises(InvalidTransition):
            check_transition(terminal, target)


def test_same_status_again_is_a_no_op():
    for status in S:
        assert check_transition(status, status) is False
    assert check_transition("pending", "compositing") is True


def test_refusal_says_what_happened():
    with pytest.raises(InvalidTransition, match="A completed job cannot become cancelled"):
        check_transition("completed", "cancelled")
    assert InvalidTransition("x").http_status == 409


def test_unknown_status():
    with pytest.raises(InvalidTransition, match="Unknown job status 'done'"):
        can_transition("done", "pending")


@given(st.lists(st.sampled_from(list(S)), max_size=12))
def test_random_walks_only_reach_terminal_once(steps):
    status = S.PENDING
    for target in steps:
        if can_transition(status, target):
            was_terminal = status in TERMINAL
            status = target
            assert not was_terminal or status == target


def test_media_sync_states():
    M = MediaSyncStatus
    assert {m.value for m in M} == {"not_configured", "waiting_for_render", "no_render",
                                    "pending", "pushed", "failed"}
    assert can_media_transition(M.WAITING_FOR_RENDER, M.PENDING)  # the render completed
    assert can_media_transition(M.WAITING_FOR_RENDER, M.NO_RENDER)  # it failed or was cancelled
    assert not can_media_transition(M.NO_RENDER, M.WAITING_FOR_RENDER)
    assert not can_media_transition(M.WAITING_FOR_RENDER, M.PUSHED)
    assert can_media_transition(M.FAILED, M.PENDING)  # retried
    assert can_media_transition(M.PUSHED, M.PENDING)  # pushed again on demand
    assert can_media_transition(M.PENDING, M.PUSHED)
    assert not can_media_transition(M.NOT_CONFIGURED, M.PUSHED)
    assert not can_media_transition(M.FAILED, M.PUSHED)
    assert media_sources_for(M.PUSHED) == {M.PENDING}


def test_progress_comes_from_real_counts():
    assert progress_percent("pending") == 0
    assert progress_percent("compositing") == 0
    assert progress_percent("completed") == 100
    start = progress_percent("rendering", images_total=6, frames_total=48)
    half_stills = progress_percent("rendering", images_done=3, images_total=6, frames_total=48)
    stills = progress_percent("rendering", images_done=6, images_total=6, frames_total=48)
    done = progress_percent("rendering", images_done=6, images_total=6, frames_done=48,
                            frames_total=48)
    assert start == 5 and start < half_stills < stills < done == 99
    assert progress_percent("rendering", images_done=6, images_total=6) == 99


@given(st.integers(0, 6), st.integers(0, 48), st.integers(0, 6), st.integers(0, 48))
def test_progress_is_monotonic_and_bounded(a, b, c, d):
    lo = progress_percent("rendering", images_done=min(a, c), images_total=6,
                          frames_done=min(b, d), frames_total=48)
    hi = progress_percent("rendering", images_done=max(a, c), images_total=6,
                          frames_done=max(b, d), frames_total=48)
    assert 5 <= lo <= hi <= 99
