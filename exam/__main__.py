"""Entry point for ``python -m exam``."""

import sys

from exam.cli import main

sys.exit(main())
