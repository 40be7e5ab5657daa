"""No package module outside the metainfo files and the synthetic renderers names a
joint of MPII, COCO, Human3.6M or J-HMDB: joint names, counts and flip pairs come
from the dataset metainfo (configs/_base_/datasets/*.py)."""
import ast
from pathlib import Path

import pytest

from hpekit.datasets import keypoint_names, parse_pose_metainfo

ROOT = Path(__file__).resolve().parents[1]
# The renderers of the synthetic twins keep their own body models (issue 11).
ALLOWED = {'hpekit/datasets/synthetic/h36m.py', 'hpekit/datasets/synthetic/mpii.py',
           'hpekit/datasets/synthetic/coco.py', 'hpekit/datasets/synthetic/custom.py'}


def joint_names():
    names = set()
    for name in ('mpii', 'coco', 'h36m', 'jhmdb'):
        meta = parse_pose_metainfo(dict(from_file=f'configs/_base_/datasets/{name}.py'))
        names.update(keypoint_names(meta))
    # hpekit's former names must not come back either
    return names | {'r_ankle', 'l_ankle', 'r_wrist', 'l_wrist', 'r_hip', 'l_hip',
                    'r_shoulder', 'l_shoulder', 'neck_nose'}


def string_constants(path):
    """String literals of a module that are not docstrings."""
    tree = ast.parse(path.read_text())
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                       ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr)
                  and isinstance(node.body[0].value, ast.Constant)}
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


MODULES = sorted(p for p in (ROOT / 'hpekit').rglob('*.py')
                 if str(p.relative_to(ROOT)) not in ALLOWED)


# Joint names that are also ordinary words of the code ('head' of a model, a 'root'
# folder): a literal equal to one of these is not taken as naming a joint.
COMMON_WORDS = {'head', 'neck', 'root', 'spine', 'belly'}


def test_the_checked_names_are_real():
    names = joint_names()
    assert {'head_top', 'left_shoulder', 'root', 'nose', 'belly'} <= names


@pytest.mark.parametrize('path', MODULES, ids=[str(p.relative_to(ROOT)) for p in MODULES])
def test_module_names_no_dataset_joint(path):
    names = joint_names() - COMMON_WORDS
    # a whole literal that is a joint name, or a joint name with '_' inside a text
    # (single words such as 'head' or 'root' are common English in messages)
    found = [(line, text) for line, text in string_constants(path)
             if text in names or any(word.strip('.,:;()[]\'"') in names and '_' in word
                                     for word in text.split())]
    assert not found, f'{path.relative_to(ROOT)} names dataset joints: {found}'
