#!/usr/bin/env python3
"""`make test`'s Linux run: test_bochs_linux.py --quick (two guests, one boot each)."""
import os
import sys

sys.argv.append('--quick')
HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, 'test_bochs_linux.py')) as f:
    exec(compile(f.read(), os.path.join(HERE, 'test_bochs_linux.py'), 'exec'))
