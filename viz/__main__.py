import sys

from viz.server import main

sys.exit(main())
