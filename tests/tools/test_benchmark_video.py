"""``tools/benchmark.py video``: the whole video pipeline timed per number of people and
detector interval (tiny models, a 4-frame synthetic video; no timing asserted)."""
import json
from pathlib import Path

from tool_loader import load_tool

TESTS = Path(__file__).resolve().parents[1]
POSE2D = TESTS / 'configs' / 'coco_tiny.py'
LIFTER = TESTS / 'configs' / 'h36m_lifting_tiny.py'
DETECTOR = TESTS / 'fixtures' / 'mmdet' / 'rtmdet_tiny_coco.py'


def test_video_mode_times_every_arm_with_the_detector_runs_it_asked_for(capsys, tmp_path):
    out = tmp_path / 'video.json'
    result = load_tool('benchmark').main([
        'video', str(POSE2D), '--det', str(DETECTOR), '--pose3d', str(LIFTER),
        '--people', '1,2', '--det-interval', '1,3', '--frames', '4', '--size', '160,120',
        '--json', str(out)])
    arms = {(a['people'], a['det_interval']): a for a in result['arms']}
    assert sorted(arms) == [(1, 1), (1, 3), (2, 1), (2, 3)]
    for (people, interval), arm in arms.items():
        assert arm['frames'] == 4 and arm['fps'] > 0
        assert arm['detector_runs'] == (4 if interval == 1 else 2)   # frames 0 and 3
        assert arm['people_per_frame'] == people
    assert json.loads(out.read_text())['arms'] == json.loads(json.dumps(result['arms']))
    printed = capsys.readouterr().out
    assert '| people | detector every | frames/s |' in printed
