"""fastnn: the fully connected networks of the "Neural Networks and Deep Learning" notes, fast."""

from . import datasets

__version__ = "0.1.0"
__all__ = ["datasets", "__version__"]
