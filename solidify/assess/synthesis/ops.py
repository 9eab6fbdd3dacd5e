"""Operations added to the program space beyond the core nodes of program.py.

Each operation is a node type registered with its evaluation, size, description,
strategy and Python rendering (see `program.register`).
"""

from __future__ import annotations
