"""tmiclnet: the small library behind the TMI-CLNet book.

Data flow one way: data -> radiomics / text -> models -> train -> evaluate -> book.
Notebooks import this package; nothing here imports a notebook.
"""

__version__ = "0.1.0"
