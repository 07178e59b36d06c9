"""`python -m bench [--only NAME] [--repeats N] [--scale ROWS]`."""

import sys

from bench.harness import main

sys.exit(main())
