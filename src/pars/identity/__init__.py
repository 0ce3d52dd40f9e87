"""Identity resolution building blocks: is this arrestee already a known person?

Pure, dependency-free functions used by booking to find an existing person record even when a
name is misspelled, swapped, shortened or aliased, or the date of birth is off by a digit:

- :mod:`pars.identity.normalize`: folding of accents and case, name tokens, nicknames (table in
  :mod:`pars.identity.nicknames`), USPS-style address and US phone normalisation;
- :mod:`pars.identity.phonetic` (and :mod:`pars.identity.metaphone`): Soundex, NYSIIS and
  Double Metaphone codes;
- :mod:`pars.identity.similarity`: Jaro-Winkler and Damerau-Levenshtein (optimal string
  alignment);
- :mod:`pars.identity.compare`: per-field comparison *levels* (the Fellegi-Sunter gamma values,
  ``-1`` for missing) with a short human-readable reason for each;
- :mod:`pars.identity.blocking`: the few blocking keys per person that the database indexes so
  that candidates come from index look-ups, not scans.

Protected attributes (social security number, place of birth, citizenship) are never inputs to
any function here, by design: matching must not depend on them.
"""
