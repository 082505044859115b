from __future__ import annotations

from quantum_trader.cli import main

raise SystemExit(main())
