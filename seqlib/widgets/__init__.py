"""Live ipywidgets versions of the book's interactive figures (Jupyter and Colab)."""
