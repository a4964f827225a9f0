"""`python -m bot …` is the same as `ewobot …`."""

import sys

from bot.cli import main

sys.exit(main())
