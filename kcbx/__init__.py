"""kcbx (控辍保学): a township's compulsory-education roster in one SQLite file."""

__version__ = "0.1.0"
