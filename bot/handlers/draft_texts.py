"""The words every step-by-step flow (/visit, /step, /share) says alike: the pupil step's,
the summary's buttons, the date buttons and how to type a date, and the hints that are
the same in each.

One place, so the three flows cannot drift apart in what they say for the same thing;
each flow's texts.py imports them under its own names, beside its own words.
"""

from __future__ import annotations

SEVERAL_MATCH = "Several pupils of yours match: choose one, or type more of the name."
NO_MATCH = "No pupil of yours matches"
CHANGE_QUESTION = "Which answer do you want to change? Then you come back to the summary."

# How a date may be typed, after the question that asks it.
TYPE_THE_DATE = " Choose, or type the date as DD/MM/YYYY or DD/MM."
DATE_HOW = " Choose, or type it as DD/MM/YYYY or DD/MM."

HINT_CHOOSE = "Please choose one of the buttons."
HINT_NOT_A_DATE = "That is not a date I can read: type it as DD/MM/YYYY or DD/MM."
HINT_FUTURE = "The date cannot be in the future."
HINT_FUTURE_NO_YEAR = ("The date cannot be in the future. For a date last year, type the "
                       "year too: DD/MM/YYYY.")

LABEL_TODAY, LABEL_YESTERDAY = "Today", "Yesterday"
LABEL_SAVE, LABEL_CHANGE, LABEL_CANCEL = "Save", "Change", "Cancel"
LABEL_BACK = "Back to the summary"
LABEL_DONE, LABEL_SKIP, LABEL_KEEP = "Done", "Skip", "Keep it"
LABEL_CORRECT = "Correct"
