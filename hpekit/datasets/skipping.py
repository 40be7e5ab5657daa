"""``skip_invalid``: log bad records, drop them, and report the count once loaded."""
import logging

from mmengine.logging import print_log

MAX_LISTED = 10   # records described one by one; the rest only counted


def report_skipped(path, problems, total):
    """Log the records dropped from ``path``.

    Args:
        path (str): the annotation / label file the records come from.
        problems (list[str]): one description per skipped record (record and field).
        total (int): number of records in the file.
    """
    if not problems:
        return
    for text in problems[:MAX_LISTED]:
        print_log(f'skip_invalid: skipped {text}', logger='current', level=logging.WARNING)
    more = len(problems) - MAX_LISTED
    print_log(f'skip_invalid: {path}: skipped {len(problems)} of {total} records'
              + (f' ({more} not listed above)' if more > 0 else '') +
              f'; {total - len(problems)} kept', logger='current', level=logging.WARNING)


def report_undecodable(error, count):
    """Log an image that failed to load during training (``skip_invalid``).

    Args:
        error (OSError): LoadImage's error (it names the file and the sample).
        count (int): images skipped so far by this process (each DataLoader worker
            counts its own).
    """
    print_log(f'skip_invalid: {error}; another random sample is used instead '
              f'({count} skipped so far in this process)', logger='current',
              level=logging.WARNING)
