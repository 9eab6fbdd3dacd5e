"""solidify: measure AI workflows from their run logs and turn mechanical steps into code."""

__version__ = "0.1.0"
