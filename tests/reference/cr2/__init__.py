"""Reference numbers for CR2/CR3 (data, not tests); see generate.py and PROVENANCE.json."""
