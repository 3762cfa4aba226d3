"""``python -m manywheel`` is the ``manywheel`` command."""
import sys

from .cli import main

sys.exit(main())
